package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/bedrockwatch/bedrockwatch/service"
)

// serve runs the service configured by f until ctx ends.
func serve(ctx context.Context, f *runFlags, stderr io.Writer) error {
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	svc, err := service.New(f.cfg, service.Options{Logger: log})
	if err != nil {
		return err
	}
	return svc.Run(ctx)
}
