package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/otlptranslator"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// Namespace prefixes every metric series on the Prometheus endpoint
// (SPEC §8: every series is prefixed bedrockwatch_).
const Namespace = "bedrockwatch"

// ServiceName is the service.name resource attribute.
const ServiceName = "bedrockwatch"

// Options configures Setup.
type Options struct {
	// InstanceID is the service.instance.id resource attribute: on
	// Kubernetes the pod name. Empty: the host name.
	InstanceID string
	// Version is the service.version resource attribute (empty: not set).
	Version string
}

// Telemetry holds the OpenTelemetry providers of the process and the
// Prometheus registry they export to. Setup builds it; Shutdown flushes and
// stops it. Nothing here is installed as an OTel global: cmd/ decides that.
type Telemetry struct {
	// MeterProvider feeds the Prometheus endpoint (Handler) and, when the
	// OTLP environment asks for it, pushes to an OTLP collector.
	MeterProvider *sdkmetric.MeterProvider
	// TracerProvider records spans and exports them by OTLP when the OTLP
	// environment asks for it. Without an OTLP traces endpoint it samples
	// nothing (spans cost next to nothing) but still propagates incoming W3C
	// trace context, so traces stay connected across replicas.
	TracerProvider *sdktrace.TracerProvider
	// Propagator is the W3C trace-context and baggage propagator to give to
	// franz-go's kotel plugin (the OTel global one is a no-op by default).
	Propagator propagation.TextMapPropagator
	// TracesExported reports whether spans go anywhere (an OTLP traces
	// endpoint is set): without it, work that only feeds span links can
	// be skipped.
	TracesExported bool

	registry *prometheus.Registry
	handler  http.Handler
}

// Setup builds the telemetry of the process:
//
//   - metrics go to a private Prometheus registry served by Handler, with
//     the exporter's translation strategy set explicitly to
//     UnderscoreEscapingWithSuffixes (classic Prometheus names: dots become
//     underscores, unit suffixes such as _seconds and _bytes, _total on
//     counters), the namespace bedrockwatch_ on every series, and neither
//     target_info nor otel_scope_* labels (so that every series carries the
//     prefix and only the labels documented in the package doc);
//   - metrics are also pushed by OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT
//     or OTEL_EXPORTER_OTLP_METRICS_ENDPOINT is set, and spans when
//     OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is
//     set; the exporters read the other standard OTEL_EXPORTER_OTLP_*
//     variables (headers, timeout, TLS) themselves, OTEL_METRICS_EXPORTER
//     or OTEL_TRACES_EXPORTER set to "none" turns a signal's push off, and a
//     protocol other than http/protobuf is an error;
//   - the resource has service.name=bedrockwatch, service.instance.id and
//     service.version, overridable by OTEL_SERVICE_NAME and
//     OTEL_RESOURCE_ATTRIBUTES.
//
// Setup reads the environment, and nothing else; ctx bounds only the set-up.
// On error nothing is left running.
func Setup(ctx context.Context, o Options) (*Telemetry, error) {
	if o.InstanceID == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = ServiceName
		}
		o.InstanceID = h
	}
	attrs := []resource.Option{resource.WithAttributes(
		semconv.ServiceName(ServiceName),
		semconv.ServiceInstanceID(o.InstanceID),
	)}
	if o.Version != "" {
		attrs = append(attrs, resource.WithAttributes(semconv.ServiceVersion(o.Version)))
	}
	// Later options override earlier ones: the environment wins.
	res, err := resource.New(ctx, append(attrs, resource.WithFromEnv(), resource.WithTelemetrySDK())...)
	if err != nil {
		return nil, fmt.Errorf("telemetry: resource: %w", err)
	}

	reg := prometheus.NewRegistry()
	prom, err := otelprom.New(
		otelprom.WithRegisterer(reg),
		// Explicit, because the exporter's default depends on a global of
		// prometheus/common/model and is announced to change.
		otelprom.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithSuffixes),
		otelprom.WithNamespace(Namespace),
		otelprom.WithoutTargetInfo(),
		otelprom.WithoutScopeInfo(),
	)
	if err != nil {
		return nil, fmt.Errorf("telemetry: prometheus exporter: %w", err)
	}
	mopts := []sdkmetric.Option{sdkmetric.WithResource(res), sdkmetric.WithReader(prom)}
	if want, err := otlpWanted("METRICS"); err != nil {
		return nil, err
	} else if want {
		exp, err := otlpmetrichttp.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("telemetry: OTLP metrics exporter: %w", err)
		}
		// The interval and timeout come from OTEL_METRIC_EXPORT_INTERVAL and
		// OTEL_METRIC_EXPORT_TIMEOUT.
		mopts = append(mopts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)))
	}
	mp := sdkmetric.NewMeterProvider(mopts...)

	topts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	want, err := otlpWanted("TRACES")
	if err != nil {
		_ = mp.Shutdown(ctx)
		return nil, err
	}
	if want {
		exp, err := otlptracehttp.New(ctx)
		if err != nil {
			_ = mp.Shutdown(ctx)
			return nil, fmt.Errorf("telemetry: OTLP traces exporter: %w", err)
		}
		// The sampler comes from OTEL_TRACES_SAMPLER (default: parent based,
		// always on).
		topts = append(topts, sdktrace.WithBatcher(exp))
	} else {
		// Nobody would see the spans: record none. Span contexts still
		// propagate (a non-recording span keeps its parent's trace id).
		topts = append(topts, sdktrace.WithSampler(sdktrace.NeverSample()))
	}
	return &Telemetry{
		MeterProvider:  mp,
		TracerProvider: sdktrace.NewTracerProvider(topts...),
		Propagator:     propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		TracesExported: want,
		registry:       reg,
		// No promhttp_* self-metrics: they would not carry the prefix.
		handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}),
	}, nil
}

// otlpWanted reports whether the environment asks for OTLP push of signal
// (METRICS or TRACES).
func otlpWanted(signal string) (bool, error) {
	if strings.EqualFold(strings.TrimSpace(os.Getenv("OTEL_"+signal+"_EXPORTER")), "none") {
		return false, nil
	}
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && os.Getenv("OTEL_EXPORTER_OTLP_"+signal+"_ENDPOINT") == "" {
		return false, nil
	}
	for _, k := range []string{"OTEL_EXPORTER_OTLP_" + signal + "_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		if p := strings.TrimSpace(os.Getenv(k)); p != "" {
			if p != "http/protobuf" {
				return false, fmt.Errorf("telemetry: %s=%q: only http/protobuf is supported (the collector's port 4318)", k, p)
			}
			break
		}
	}
	return true, nil
}

// Handler serves the Prometheus text exposition of the metrics (/metrics).
// It is safe for concurrent use.
func (t *Telemetry) Handler() http.Handler { return t.handler }

// Shutdown flushes pending OTLP exports and stops the providers, within
// ctx. After it the Prometheus handler serves no bedrockwatch series.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	return errors.Join(t.TracerProvider.Shutdown(ctx), t.MeterProvider.Shutdown(ctx))
}
