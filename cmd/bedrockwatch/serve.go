package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kotel"

	"github.com/bedrockwatch/bedrockwatch/service"
	"github.com/bedrockwatch/bedrockwatch/telemetry"
)

// serve runs the service configured by f until ctx ends: logs as f asks,
// OpenTelemetry metrics on /metrics (and OTLP when the environment asks),
// W3C trace context through Kafka headers (kotel), and /healthz and /readyz
// on --metrics-addr.
func serve(ctx context.Context, f *runFlags, stderr io.Writer) (err error) {
	log, err := telemetry.NewLogger(stderr, f.logLevel, f.logFormat)
	if err != nil {
		return usagef("%v", err)
	}
	tel, err := telemetry.Setup(ctx, telemetry.Options{InstanceID: f.cfg.InstanceID, Version: version})
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if serr := tel.Shutdown(sctx); serr != nil {
			log.Warn("flushing telemetry", "error", serr)
		}
	}()
	met, err := telemetry.NewMetrics(tel.MeterProvider)
	if err != nil {
		return err
	}
	defer met.Close()
	kt := kotel.NewKotel(kotel.WithTracer(kotel.NewTracer(
		kotel.TracerProvider(tel.TracerProvider),
		kotel.TracerPropagator(tel.Propagator),
		kotel.ConsumerGroup(f.cfg.Group),
	)))
	opts := service.Options{Logger: log, Metrics: met, ClientOpts: []kgo.Opt{kgo.WithHooks(kt.Hooks()...)}}
	if tel.TracesExported {
		// The service's own spans, and the index of routed events' trace
		// context behind the alert spans' links, only when spans go out;
		// kotel propagates the context in headers either way.
		opts.TracerProvider = tel.TracerProvider
	}
	svc, err := service.New(f.cfg, opts)
	if err != nil {
		return err
	}
	if f.metrics != "" {
		ln, err := net.Listen("tcp", f.metrics)
		if err != nil {
			return fmt.Errorf("metrics-addr %s: %w", f.metrics, err)
		}
		srv := &http.Server{
			Handler:           telemetry.NewMux(tel.Handler(), svc.Healthy, svc.Ready, f.pprof),
			ReadHeaderTimeout: 5 * time.Second,
		}
		log.Info("serving /metrics, /healthz and /readyz", "addr", ln.Addr().String(), "pprof", f.pprof)
		go func() {
			if serr := srv.Serve(ln); serr != nil && !errors.Is(serr, http.ErrServerClosed) {
				log.Error("metrics server", "error", serr)
			}
		}()
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
	}
	return svc.Run(ctx)
}
