package service

import (
	"context"
	"errors"
	"log/slog"
)

// Options carries what a Service reports to.
type Options struct {
	Logger *slog.Logger
}

// Service is one replica of the consumer group.
type Service struct {
	cfg Config
	opt Options
}

// New checks cfg and returns a Service; Run connects.
func New(cfg Config, opt Options) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	return &Service{cfg: cfg, opt: opt}, nil
}

// Run runs the service until ctx ends or a fatal error.
func (s *Service) Run(ctx context.Context) error {
	return errors.New("service: not yet implemented")
}
