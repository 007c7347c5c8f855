package service

import (
	"context"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/bedrockwatch/bedrockwatch/schemas"
)

// Tracing. With franz-go's kotel hooks on the clients (Options.ClientOpts)
// every consumed record carries its trace context in r.Context, taken from
// its W3C headers, and every produced record writes the context it is
// produced with into its headers. The service keeps the chain unbroken:
//
//	input record ──(child)──▶ routed event record ──(link)──▶ alert span ──(child)──▶ alert record
//
// A process span covers each batch of records of one partition, linked to
// the records in it. An alert span is linked to the spans of the routed
// events in its evidence, which may have been read batches or hours
// earlier: spanIndex remembers the trace context of the most recent routed
// events by event id, bounded.

const (
	tracerName = "github.com/bedrockwatch/bedrockwatch/service"
	// spanIndexSize bounds the event ids whose trace context is remembered
	// (about 100 bytes each).
	spanIndexSize = 1 << 16
	// maxLinks bounds the links of one span.
	maxLinks = 128
)

// spanIndex maps the ids of the last n routed events to their trace
// context; the oldest entry goes first.
type spanIndex struct {
	byID map[string]trace.SpanContext
	ring []string
	next int
}

func newSpanIndex(n int) spanIndex {
	return spanIndex{byID: make(map[string]trace.SpanContext), ring: make([]string, n)}
}

func (x *spanIndex) put(id string, sc trace.SpanContext) {
	if _, ok := x.byID[id]; ok {
		x.byID[id] = sc
		return
	}
	if old := x.ring[x.next]; old != "" {
		delete(x.byID, old)
	}
	x.ring[x.next] = id
	x.next = (x.next + 1) % len(x.ring)
	x.byID[id] = sc
}

func (x *spanIndex) get(id string) (trace.SpanContext, bool) {
	sc, ok := x.byID[id]
	return sc, ok
}

// batchSpan starts the process span of the records of one partition,
// linked to the trace context of each (up to maxLinks).
func (s *Service) batchSpan(ctx context.Context, fp kgo.FetchTopicPartition) (context.Context, trace.Span) {
	if !s.traced {
		return ctx, trace.SpanFromContext(ctx)
	}
	ctx, span := s.tracer.Start(ctx, fp.Topic+" process",
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			attribute.String("messaging.system", "kafka"),
			attribute.String("messaging.operation.type", "process"),
			attribute.String("messaging.destination.name", fp.Topic),
			attribute.Int("messaging.destination.partition.id", int(fp.Partition)),
			attribute.Int("messaging.batch.message_count", len(fp.Records)),
		))
	if !span.IsRecording() {
		return ctx, span
	}
	links := 0
	for _, r := range fp.Records {
		if links == maxLinks {
			break
		}
		if r.Context == nil {
			continue
		}
		if sc := trace.SpanContextFromContext(r.Context); sc.IsValid() {
			span.AddLink(trace.Link{SpanContext: sc})
			links++
		}
	}
	return ctx, span
}

// alertSpan starts the span of an alert, linked to the trace context of
// the events of its evidence that are still remembered. The alert record is
// produced under it, so its headers carry the alert's own trace context.
// The span is a new root: an alert belongs to no single input's trace, it
// joins several by its links.
func (s *Service) alertSpan(ctx context.Context, a *schemas.Alert) (context.Context, trace.Span) {
	if !s.traced {
		return ctx, trace.SpanFromContext(ctx)
	}
	ctx, span := s.tracer.Start(ctx, "alert "+a.Rule.ID,
		trace.WithNewRoot(),
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(
			attribute.String("bedrockwatch.alert.id", a.ID),
			attribute.String("bedrockwatch.rule.id", a.Rule.ID),
			attribute.String("bedrockwatch.alert.severity", a.Rule.Severity),
		))
	if !span.IsRecording() {
		return ctx, span
	}
	links := 0
	for _, ev := range a.Evidence {
		if links == maxLinks {
			break
		}
		if sc, ok := s.spans.get(ev.EventID); ok {
			span.AddLink(trace.Link{SpanContext: sc, Attributes: []attribute.KeyValue{attribute.String("event.id", ev.EventID)}})
			links++
		}
	}
	return ctx, span
}
