package service

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bedrockwatch/bedrockwatch/processor"
	"github.com/bedrockwatch/bedrockwatch/schemas"
	"github.com/bedrockwatch/bedrockwatch/service/cekafka"
)

// Headers of the records bedrockwatch writes.
const (
	// Routed events (events topic).
	hdrRoute   = "bw-route"   // route id
	hdrOrigin  = "bw-origin"  // topic/partition/offset/index of the input record
	hdrTime    = "bw-time"    // event time, RFC 3339 with nanoseconds
	hdrEventID = "bw-id"      // event id
	hdrDataset = "bw-dataset" // data_stream.dataset

	// Dead letters (DLQ topic).
	HeaderReason    = "bw-reason"    // a schemas.Reason* value
	HeaderDetail    = "bw-detail"    // short detail, no prompt text
	HeaderTopic     = "bw-topic"     // topic of the input record
	HeaderPartition = "bw-partition" // its partition
	HeaderOffset    = "bw-offset"    // its offset
	HeaderIndex     = "bw-index"     // position of the bad record inside the message
	HeaderTruncated = "bw-truncated" // "true" when the value was cut to maxDLQValue
)

// maxDLQValue bounds the copy of a bad record on the DLQ, so an oversized
// input cannot make the DLQ produce fail.
const maxDLQValue = 512 << 10

// eventRecord is the events-topic record of e for route rt, keyed by the
// route key: the input record's raw bytes with what decoding it gave in
// headers, so the partition that owns the key decodes the same event.
func eventRecord(topic string, rt *processor.Route, key string, e *schemas.Event) *kgo.Record {
	o := e.Origin
	origin := o.Topic + "/" + strconv.Itoa(int(o.Partition)) + "/" + strconv.FormatInt(o.Offset, 10) + "/" + strconv.Itoa(o.Index)
	return &kgo.Record{
		Topic: topic, Key: []byte(key), Value: e.Raw,
		Headers: []kgo.RecordHeader{
			{Key: hdrRoute, Value: []byte(rt.ID)},
			{Key: hdrOrigin, Value: []byte(origin)},
			{Key: hdrTime, Value: []byte(e.Timestamp.UTC().Format(time.RFC3339Nano))},
			{Key: hdrEventID, Value: []byte(e.ID)},
			{Key: hdrDataset, Value: []byte(e.Dataset)},
		},
	}
}

// routed is what an events-topic record says beside its raw bytes.
type routed struct {
	route   string
	origin  schemas.Origin
	time    time.Time
	id      string
	dataset string
}

func parseRouted(r *kgo.Record) (routed, bool) {
	var rt routed
	var haveTime bool
	for _, h := range r.Headers {
		switch h.Key {
		case hdrRoute:
			rt.route = string(h.Value)
		case hdrOrigin:
			parts := strings.Split(string(h.Value), "/")
			if len(parts) != 4 {
				return rt, false
			}
			p, err1 := strconv.ParseInt(parts[1], 10, 32)
			off, err2 := strconv.ParseInt(parts[2], 10, 64)
			idx, err3 := strconv.Atoi(parts[3])
			if err1 != nil || err2 != nil || err3 != nil {
				return rt, false
			}
			rt.origin = schemas.Origin{Topic: parts[0], Partition: int32(p), Offset: off, Index: idx}
		case hdrTime:
			t, err := time.Parse(time.RFC3339Nano, string(h.Value))
			if err != nil {
				return rt, false
			}
			rt.time, haveTime = t.UTC(), true
		case hdrEventID:
			rt.id = string(h.Value)
		case hdrDataset:
			rt.dataset = string(h.Value)
		}
	}
	return rt, rt.route != "" && haveTime && rt.id != ""
}

// dlqRecord is the dead letter of input record r.
func dlqRecord(topic string, r *kgo.Record, index int, reason, detail string) *kgo.Record {
	v := r.Value
	hs := []kgo.RecordHeader{
		{Key: HeaderReason, Value: []byte(reason)},
		{Key: HeaderTopic, Value: []byte(r.Topic)},
		{Key: HeaderPartition, Value: []byte(strconv.Itoa(int(r.Partition)))},
		{Key: HeaderOffset, Value: []byte(strconv.FormatInt(r.Offset, 10))},
		{Key: HeaderIndex, Value: []byte(strconv.Itoa(index))},
	}
	if detail != "" {
		hs = append(hs, kgo.RecordHeader{Key: HeaderDetail, Value: []byte(detail)})
	}
	if len(v) > maxDLQValue {
		v = v[:maxDLQValue]
		hs = append(hs, kgo.RecordHeader{Key: HeaderTruncated, Value: []byte("true")})
	}
	return &kgo.Record{Topic: topic, Key: r.Key, Value: v, Headers: hs}
}

// ReasonLate is the DLQ reason of the copy of an event that arrived behind
// the watermark (one copy per route the event took).
const ReasonLate = "late"

// lateRecord is the DLQ copy of the routed event r, late for route: its
// position headers name the input record it came from.
func lateRecord(topic string, r *kgo.Record, h routed, route string, wm time.Time) *kgo.Record {
	o := h.origin
	in := &kgo.Record{Topic: o.Topic, Partition: o.Partition, Offset: o.Offset, Key: r.Key, Value: r.Value}
	detail := "event time " + h.time.Format(time.RFC3339) + " is behind the watermark " + wm.UTC().Format(time.RFC3339) +
		"; evaluated against the state that remained (route " + route + ")"
	return dlqRecord(topic, in, o.Index, ReasonLate, detail)
}

// alertRecord is alert a as a structured-mode CloudEvent keyed by its
// partition key (cekafka is the one mapping of CloudEvents to records).
func alertRecord(topic string, a *schemas.Alert) (*kgo.Record, error) {
	ev, err := a.CloudEvent()
	if err != nil {
		return nil, err
	}
	return cekafka.Record(context.Background(), ev, topic, []byte(a.PartitionKey()))
}

// changelogRecord is a state change of partition p: the value, or a
// tombstone for a delete.
func changelogRecord(topic string, p int32, key string, value []byte, deleted bool) *kgo.Record {
	r := &kgo.Record{Topic: topic, Partition: p, Key: []byte(key)}
	if !deleted {
		r.Value = value
		if r.Value == nil {
			r.Value = []byte{}
		}
	}
	return r
}

// partitioner places changelog records on the partition they name and
// every other keyed record by the Kafka murmur2 hash of its key, as Java
// clients and kcat (-X partitioner=murmur2_random) do.
type partitioner struct {
	manual string
	keyed  kgo.Partitioner
}

func (p partitioner) ForTopic(t string) kgo.TopicPartitioner {
	if t == p.manual {
		return kgo.ManualPartitioner().ForTopic(t)
	}
	return p.keyed.ForTopic(t)
}

// prefixStore is the part of a partition's View under one route's prefix.
type prefixStore struct {
	s   processor.Store
	pre string
}

func (ps prefixStore) Get(key string) ([]byte, bool, error) { return ps.s.Get(ps.pre + key) }
func (ps prefixStore) Put(key string, v []byte) error       { return ps.s.Put(ps.pre+key, v) }
func (ps prefixStore) Delete(key string) error              { return ps.s.Delete(ps.pre + key) }
func (ps prefixStore) Scan(prefix string, fn func(string, []byte) bool) error {
	n := len(ps.pre)
	return ps.s.Scan(ps.pre+prefix, func(k string, v []byte) bool { return fn(k[n:], v) })
}
