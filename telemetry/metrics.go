package telemetry

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// ScopeName is the instrumentation scope of the metrics of Metrics.
const ScopeName = "github.com/bedrockwatch/bedrockwatch/telemetry"

// Attribute keys of our own instruments (see the package doc for the
// exposed label names).
const (
	AttrDataset  = attribute.Key("event.dataset") // aws.cloudtrail, aws_bedrock.invocation, endpoint.process
	AttrReason   = attribute.Key("reason")        // the DLQ reason header
	AttrRule     = attribute.Key("rule")          // rule id
	AttrSeverity = attribute.Key("severity")      // info … critical
	AttrOutcome  = attribute.Key("outcome")       // committed, aborted
	AttrPart     = attribute.Key("part")          // lsm, vlog
)

// Bucket boundaries of the histograms, in seconds.
var (
	// ProcessBuckets are the messaging semantic conventions' advice for
	// messaging.process.duration.
	ProcessBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}
	// EventToAlertBuckets cover a stateless rule on a live stream (under a
	// second) up to a day-long window or a CloudTrail delivery delay.
	EventToAlertBuckets = []float64{0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 86400}
)

// Metrics records the service's metrics (the table is in the package doc).
//
// Every method is safe for concurrent use and cheap on the hot path: the
// attribute set of each label combination is built once and cached, so a
// call is a map lookup under a read lock plus the SDK's own work, with no
// allocation once the combination was seen. The caches grow with the label
// values, so pass only low-cardinality values (topics, datasets, rule ids,
// DLQ reasons), never ids or free text. A nil *Metrics records nothing.
type Metrics struct {
	consumed, dlq, late, alerts, txns metric.Int64Counter
	process, eventToAlert             metric.Float64Histogram
	lagG, restoreG, sizeG             metric.Int64ObservableGauge
	watermarkG                        metric.Float64ObservableGauge
	reg                               metric.Registration

	consumedOpts cache[[2]string, metric.AddOption]
	dlqOpts      cache[string, metric.AddOption]
	alertOpts    cache[[2]string, metric.AddOption]
	processOpts  cache[string, metric.RecordOption]
	e2eOpts      cache[string, metric.RecordOption]
	lateOpts     []metric.AddOption
	committed    []metric.AddOption
	aborted      []metric.AddOption

	mu        sync.Mutex // guards the gauge values below
	lag       map[topicPartition]*gaugeValue[int64]
	watermark map[int32]*gaugeValue[float64]
	restore   map[int32]*gaugeValue[int64]
	size      [2]gaugeValue[int64] // lsm, vlog
	sizeSet   bool
}

type topicPartition struct {
	topic     string
	partition int32
}

type gaugeValue[T int64 | float64] struct {
	v    T
	opts []metric.ObserveOption
}

// NewMetrics creates the instruments on mp (meter ScopeName). Gauges are
// observed at collection time from the last value set.
func NewMetrics(mp metric.MeterProvider) (*Metrics, error) {
	if mp == nil {
		return nil, errors.New("telemetry: NewMetrics: nil MeterProvider")
	}
	meter := mp.Meter(ScopeName)
	m := &Metrics{
		lag:       map[topicPartition]*gaugeValue[int64]{},
		watermark: map[int32]*gaugeValue[float64]{},
		restore:   map[int32]*gaugeValue[int64]{},
	}
	var errs []error
	i64 := func(name, unit, desc string) metric.Int64Counter {
		c, err := meter.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	hist := func(name, desc string, buckets []float64) metric.Float64Histogram {
		h, err := meter.Float64Histogram(name, metric.WithUnit("s"), metric.WithDescription(desc),
			metric.WithExplicitBucketBoundaries(buckets...))
		errs = append(errs, err)
		return h
	}
	gauge := func(name, unit, desc string) metric.Int64ObservableGauge {
		g, err := meter.Int64ObservableGauge(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return g
	}
	m.consumed = i64("messaging.client.consumed.messages", "{message}", "Input records delivered to the engine, by topic and dataset.")
	m.dlq = i64("dlq.messages", "{message}", "Input records sent to the dead-letter topic, by reason.")
	m.late = i64("events.late", "{event}", "Events that arrived later than the allowed lateness behind their partition's watermark.")
	m.alerts = i64("alerts", "{alert}", "Alerts produced, by rule and severity.")
	m.txns = i64("transactions", "{transaction}", "Kafka transactions ended, by outcome (committed or aborted).")
	m.process = hist("messaging.process.duration", "Duration of processing a batch of input records.", ProcessBuckets)
	m.eventToAlert = hist("event_to_alert.duration", "From the event time of an alert's last triggering event to the alert being produced.", EventToAlertBuckets)
	m.lagG = gauge("consumer.lag", "{message}", "Records of a partition not yet consumed: fetch high watermark minus next offset.")
	m.restoreG = gauge("state.restore.remaining", "{record}", "Changelog records a partition still has to restore; 0 when done.")
	m.sizeG = gauge("state.size", "By", "Size of the Badger state store on disk, by part (lsm, vlog).")
	wg, err := meter.Float64ObservableGauge("watermark.delay", metric.WithUnit("s"),
		metric.WithDescription("How far a partition's event-time watermark is behind the wall clock."))
	errs = append(errs, err)
	m.watermarkG = wg
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("telemetry: instruments: %w", err)
	}

	kafka := semconv.MessagingSystemKafka
	m.consumedOpts.build = func(k [2]string) []metric.AddOption {
		return []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(kafka,
			semconv.MessagingOperationName("poll"), semconv.MessagingDestinationName(k[0]), AttrDataset.String(k[1])))}
	}
	m.dlqOpts.build = func(reason string) []metric.AddOption {
		return []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(AttrReason.String(reason)))}
	}
	m.alertOpts.build = func(k [2]string) []metric.AddOption {
		return []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(AttrRule.String(k[0]), AttrSeverity.String(k[1])))}
	}
	m.processOpts.build = func(topic string) []metric.RecordOption {
		return []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(kafka,
			semconv.MessagingOperationName("process"), semconv.MessagingDestinationName(topic)))}
	}
	m.e2eOpts.build = func(rule string) []metric.RecordOption {
		return []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(AttrRule.String(rule)))}
	}
	m.lateOpts = []metric.AddOption{metric.WithAttributeSet(*attribute.EmptySet())}
	m.committed = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(AttrOutcome.String("committed")))}
	m.aborted = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(AttrOutcome.String("aborted")))}
	m.size[0].opts = []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(AttrPart.String("lsm")))}
	m.size[1].opts = []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(AttrPart.String("vlog")))}

	m.reg, err = meter.RegisterCallback(m.observe, m.lagG, m.watermarkG, m.restoreG, m.sizeG)
	if err != nil {
		return nil, fmt.Errorf("telemetry: gauge callback: %w", err)
	}
	return m, nil
}

// observe reports the gauges at collection time.
func (m *Metrics) observe(_ context.Context, o metric.Observer) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, g := range m.lag {
		o.ObserveInt64(m.lagG, g.v, g.opts...)
	}
	for _, g := range m.watermark {
		o.ObserveFloat64(m.watermarkG, g.v, g.opts...)
	}
	for _, g := range m.restore {
		o.ObserveInt64(m.restoreG, g.v, g.opts...)
	}
	if m.sizeSet {
		for i := range m.size {
			o.ObserveInt64(m.sizeG, m.size[i].v, m.size[i].opts...)
		}
	}
	return nil
}

// Close unregisters the gauges' callback; the counters and histograms stay
// usable. Call it when a Metrics is replaced on a MeterProvider that lives on.
func (m *Metrics) Close() error {
	if m == nil {
		return nil
	}
	return m.reg.Unregister()
}

// Consumed counts n input records of dataset read from topic
// (messaging.client.consumed.messages).
func (m *Metrics) Consumed(ctx context.Context, topic, dataset string, n int64) {
	if m == nil {
		return
	}
	m.consumed.Add(ctx, n, m.consumedOpts.get([2]string{topic, dataset})...)
}

// DeadLettered counts n records sent to the dead-letter topic for reason
// (the DLQ reason header: a short class, not the detail).
func (m *Metrics) DeadLettered(ctx context.Context, reason string, n int64) {
	if m == nil {
		return
	}
	m.dlq.Add(ctx, n, m.dlqOpts.get(reason)...)
}

// Late counts n events that arrived behind their partition's watermark by
// more than the allowed lateness.
func (m *Metrics) Late(ctx context.Context, n int64) {
	if m == nil {
		return
	}
	m.late.Add(ctx, n, m.lateOpts...)
}

// Alert counts one alert of rule with severity.
func (m *Metrics) Alert(ctx context.Context, rule, severity string) {
	if m == nil {
		return
	}
	m.alerts.Add(ctx, 1, m.alertOpts.get([2]string{rule, severity})...)
}

// ProcessDuration records how long processing a batch of records of topic
// took (messaging.process.duration).
func (m *Metrics) ProcessDuration(ctx context.Context, topic string, seconds float64) {
	if m == nil {
		return
	}
	m.process.Record(ctx, seconds, m.processOpts.get(topic)...)
}

// EventToAlert records the time from the event time of the last event that
// triggered an alert of rule to the alert being produced.
func (m *Metrics) EventToAlert(ctx context.Context, rule string, seconds float64) {
	if m == nil {
		return
	}
	m.eventToAlert.Record(ctx, seconds, m.e2eOpts.get(rule)...)
}

// Transaction counts one Kafka transaction ended: committed, or aborted.
func (m *Metrics) Transaction(ctx context.Context, committed bool) {
	if m == nil {
		return
	}
	if committed {
		m.txns.Add(ctx, 1, m.committed...)
	} else {
		m.txns.Add(ctx, 1, m.aborted...)
	}
}

// SetLag sets the consumer lag of a partition: its fetch high watermark
// minus the next offset to consume. The series exists until DropPartition.
func (m *Metrics) SetLag(topic string, partition int32, lag int64) {
	if m == nil {
		return
	}
	k := topicPartition{topic, partition}
	m.mu.Lock()
	defer m.mu.Unlock()
	g := m.lag[k]
	if g == nil {
		g = &gaugeValue[int64]{opts: []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(
			semconv.MessagingDestinationName(topic), partitionAttr(partition)))}}
		m.lag[k] = g
	}
	g.v = lag
}

// DropPartition removes the lag series of a partition, when it is revoked
// or lost, so that a replica does not report lag it no longer owns.
func (m *Metrics) DropPartition(topic string, partition int32) {
	if m == nil {
		return
	}
	m.mu.Lock()
	delete(m.lag, topicPartition{topic, partition})
	m.mu.Unlock()
}

// SetWatermarkDelay sets how far, in seconds, the event-time watermark of a
// partition of the events topic is behind the wall clock.
func (m *Metrics) SetWatermarkDelay(partition int32, seconds float64) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	g := m.watermark[partition]
	if g == nil {
		g = &gaugeValue[float64]{opts: []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(partitionAttr(partition)))}}
		m.watermark[partition] = g
	}
	g.v = seconds
}

// SetRestore sets how many changelog records a partition of the events
// topic still has to restore; 0 means restored.
func (m *Metrics) SetRestore(partition int32, remaining int64) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	g := m.restore[partition]
	if g == nil {
		g = &gaugeValue[int64]{opts: []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(partitionAttr(partition)))}}
		m.restore[partition] = g
	}
	g.v = remaining
}

// DropStatePartition removes the watermark-delay and restore series of a
// partition of the events topic, when it is revoked or lost.
func (m *Metrics) DropStatePartition(partition int32) {
	if m == nil {
		return
	}
	m.mu.Lock()
	delete(m.watermark, partition)
	delete(m.restore, partition)
	m.mu.Unlock()
}

// SetStateSize sets the size in bytes of the Badger store: its LSM tree and
// its value log (badger.DB.Size).
func (m *Metrics) SetStateSize(lsm, vlog int64) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.size[0].v, m.size[1].v, m.sizeSet = lsm, vlog, true
	m.mu.Unlock()
}

func partitionAttr(p int32) attribute.KeyValue {
	return semconv.MessagingDestinationPartitionID(strconv.Itoa(int(p)))
}

// cache maps label values to the pre-built measurement options of their
// attribute set.
type cache[K comparable, O any] struct {
	mu    sync.RWMutex
	m     map[K][]O
	build func(K) []O
}

func (c *cache[K, O]) get(k K) []O {
	c.mu.RLock()
	o, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return o
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if o, ok := c.m[k]; ok {
		return o
	}
	if c.m == nil {
		c.m = map[K][]O{}
	}
	o = c.build(k)
	c.m[k] = o
	return o
}
