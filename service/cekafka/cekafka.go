// Package cekafka maps CloudEvents to franz-go records and back, following
// the CloudEvents Kafka protocol binding with the SDK's binding package (the
// SDK has no franz-go binding).
//
// Structured mode, the default: the record value is the event in the JSON
// event format and the header content-type is
// "application/cloudevents+json; charset=UTF-8". Binary mode: the value is
// the event's data, content-type is its datacontenttype, and every other
// attribute and extension is a header named ce_<name>. Event reads both.
//
// The record key is the alert's partition key (SPEC §6); it is not an event
// attribute — alerts carry it in the partitionkey extension as well.
package cekafka

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/binding/format"
	"github.com/cloudevents/sdk-go/v2/binding/spec"
	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Header names of the Kafka protocol binding.
const (
	HeaderContentType = "content-type"
	HeaderPrefix      = "ce_"
	// StructuredContentType is the content-type of a structured-mode record.
	StructuredContentType = "application/cloudevents+json; charset=UTF-8"
	// PartitionKeyExtension is the extension Record falls back on for a key.
	PartitionKeyExtension = "partitionkey"
)

// ErrNotCloudEvent means a record is neither a structured-mode CloudEvent
// (content-type of a CloudEvents format) nor a binary-mode one (a
// ce_specversion header).
var ErrNotCloudEvent = errors.New("not a CloudEvent: no content-type header application/cloudevents+json and no ce_specversion header")

var versions = spec.WithPrefix(HeaderPrefix)

// Record returns ev as a structured-mode record for topic with key: the value
// is ev in the JSON event format. A nil key takes the partitionkey
// extension's value, if ev has one. ev must be valid (ev.Validate).
func Record(ctx context.Context, ev cloudevents.Event, topic string, key []byte) (*kgo.Record, error) {
	return write(binding.WithForceStructured(ctx), ev, topic, key)
}

// BinaryRecord returns ev as a binary-mode record for topic with key: the
// value is ev's data and the attributes are ce_ headers (content-type for
// datacontenttype). A nil key takes the partitionkey extension's value.
func BinaryRecord(ctx context.Context, ev cloudevents.Event, topic string, key []byte) (*kgo.Record, error) {
	return write(binding.WithForceBinary(ctx), ev, topic, key)
}

func write(ctx context.Context, ev cloudevents.Event, topic string, key []byte) (*kgo.Record, error) {
	if err := ev.Validate(); err != nil {
		return nil, fmt.Errorf("cekafka: event %q: invalid CloudEvent: %w", ev.ID(), err)
	}
	if key == nil {
		if pk, ok := ev.Extensions()[PartitionKeyExtension]; ok {
			s, err := types.Format(pk)
			if err != nil {
				return nil, fmt.Errorf("cekafka: event %q: partitionkey: %w", ev.ID(), err)
			}
			key = []byte(s)
		}
	}
	w := &recordWriter{r: &kgo.Record{Topic: topic, Key: key}}
	if _, err := binding.Write(ctx, binding.ToMessage(&ev), w, w); err != nil {
		return nil, fmt.Errorf("cekafka: event %q: %w", ev.ID(), err)
	}
	return w.r, nil
}

// recordWriter fills a record; it is both writers of the binding package.
type recordWriter struct{ r *kgo.Record }

var (
	_ binding.StructuredWriter = (*recordWriter)(nil)
	_ binding.BinaryWriter     = (*recordWriter)(nil)
)

func (w *recordWriter) SetStructuredEvent(_ context.Context, f format.Format, ev io.Reader) error {
	if f.MediaType() != format.JSON.MediaType() {
		return fmt.Errorf("event format %s: only %s is written", f.MediaType(), format.JSON.MediaType())
	}
	v, err := io.ReadAll(ev)
	if err != nil {
		return err
	}
	w.r.Value = v
	w.r.Headers = []kgo.RecordHeader{{Key: HeaderContentType, Value: []byte(StructuredContentType)}}
	return nil
}

func (w *recordWriter) Start(context.Context) error {
	w.r.Headers = w.r.Headers[:0]
	return nil
}

func (w *recordWriter) End(context.Context) error { return nil }

func (w *recordWriter) SetData(data io.Reader) error {
	v, err := io.ReadAll(data)
	w.r.Value = v
	return err
}

func (w *recordWriter) SetAttribute(a spec.Attribute, value any) error {
	name := HeaderPrefix + a.Name()
	if a.Kind() == spec.DataContentType {
		name = HeaderContentType
	}
	return w.setHeader(name, value)
}

func (w *recordWriter) SetExtension(name string, value any) error {
	return w.setHeader(HeaderPrefix+strings.ToLower(name), value)
}

func (w *recordWriter) setHeader(name string, value any) error {
	hs := w.r.Headers[:0]
	for _, h := range w.r.Headers {
		if h.Key != name {
			hs = append(hs, h)
		}
	}
	w.r.Headers = hs
	if value == nil {
		return nil
	}
	s, err := types.Format(value)
	if err != nil {
		return fmt.Errorf("header %s: %w", name, err)
	}
	w.r.Headers = append(w.r.Headers, kgo.RecordHeader{Key: name, Value: []byte(s)})
	return nil
}

// Event decodes the CloudEvent of r, structured or binary mode, and
// validates it. A record that is neither gives an error wrapping
// ErrNotCloudEvent; a malformed one, the decoding error. Both name the
// record's topic, partition and offset.
func Event(r *kgo.Record) (*cloudevents.Event, error) {
	m := NewMessage(r)
	if m.ReadEncoding() == binding.EncodingUnknown {
		if m.specversion != "" {
			return nil, fmt.Errorf("cekafka: %s: ce_specversion %q: not a CloudEvents version this SDK reads (1.0, 0.3)", where(r), m.specversion)
		}
		return nil, fmt.Errorf("cekafka: %s: %w", where(r), ErrNotCloudEvent)
	}
	if m.format != nil && m.format.MediaType() != format.JSON.MediaType() {
		return nil, fmt.Errorf("cekafka: %s: content-type %q: only single events in JSON (%s) are read", where(r), m.contentType, format.JSON.MediaType())
	}
	// ToEvent does not use its context for a structured or binary message.
	ev, err := binding.ToEvent(context.TODO(), m)
	if err != nil {
		return nil, fmt.Errorf("cekafka: %s: decoding CloudEvent: %w", where(r), err)
	}
	if err := ev.Validate(); err != nil {
		return nil, fmt.Errorf("cekafka: %s: invalid CloudEvent: %w", where(r), err)
	}
	return ev, nil
}

func where(r *kgo.Record) string {
	return fmt.Sprintf("record %s/%d@%d", r.Topic, r.Partition, r.Offset)
}

// Message is a record as a binding.Message, for the SDK's binding functions
// (ToEvent, Write, transformers). It can be read any number of times; it is
// not safe for concurrent use.
type Message struct {
	r           *kgo.Record
	contentType string
	specversion string        // the ce_specversion header
	format      format.Format // structured mode
	version     spec.Version  // binary mode
	parsed      *cloudevents.Event
}

var (
	_ binding.Message               = (*Message)(nil)
	_ binding.MessageMetadataReader = (*Message)(nil)
)

// NewMessage wraps r. Header names are matched case-insensitively; of
// repeated headers the first counts.
func NewMessage(r *kgo.Record) *Message {
	m := &Message{r: r}
	for _, h := range r.Headers {
		switch strings.ToLower(h.Key) {
		case HeaderContentType:
			if m.contentType == "" {
				m.contentType = string(h.Value)
			}
		case versions.PrefixedSpecVersionName():
			if m.specversion == "" {
				m.specversion = string(h.Value)
			}
		}
	}
	if f := format.Lookup(m.contentType); f != nil {
		m.format = f
	} else if m.specversion != "" {
		m.version = versions.Version(m.specversion)
	}
	return m
}

// ReadEncoding reports structured, binary or unknown (not a CloudEvent, or
// a binary-mode one of a spec version the SDK does not know).
func (m *Message) ReadEncoding() binding.Encoding {
	switch {
	case m.format != nil:
		return binding.EncodingStructured
	case m.version != nil:
		return binding.EncodingBinary
	}
	return binding.EncodingUnknown
}

// ReadStructured gives the value to w in structured mode.
func (m *Message) ReadStructured(ctx context.Context, w binding.StructuredWriter) error {
	if m.format == nil {
		return binding.ErrNotStructured
	}
	return w.SetStructuredEvent(ctx, m.format, bytes.NewReader(m.r.Value))
}

// ReadBinary gives the ce_ headers, content-type and value to w in binary
// mode: specversion first, then the headers in record order.
func (m *Message) ReadBinary(_ context.Context, w binding.BinaryWriter) error {
	if m.version == nil {
		return binding.ErrNotBinary
	}
	svName := versions.PrefixedSpecVersionName()
	if err := w.SetAttribute(m.version.AttributeFromKind(spec.SpecVersion), m.version.String()); err != nil {
		return err
	}
	seen := map[string]bool{svName: true}
	for _, h := range m.r.Headers {
		k := strings.ToLower(h.Key)
		if seen[k] {
			continue
		}
		seen[k] = true
		var err error
		switch {
		case k == HeaderContentType:
			err = w.SetAttribute(m.version.AttributeFromKind(spec.DataContentType), string(h.Value))
		case strings.HasPrefix(k, HeaderPrefix):
			if a := m.version.Attribute(k); a != nil {
				err = w.SetAttribute(a, string(h.Value))
			} else {
				err = w.SetExtension(strings.TrimPrefix(k, HeaderPrefix), string(h.Value))
			}
		}
		if err != nil {
			return fmt.Errorf("header %s: %w", h.Key, err)
		}
	}
	if len(m.r.Value) > 0 {
		return w.SetData(bytes.NewReader(m.r.Value))
	}
	return nil
}

// GetAttribute returns an attribute of the event and its value (a string in
// binary mode; the typed value in structured mode, where the value is parsed
// once), or nil, nil when the message has no such attribute.
func (m *Message) GetAttribute(k spec.Kind) (spec.Attribute, any) {
	switch {
	case m.version != nil:
		a := m.version.AttributeFromKind(k)
		if a == nil {
			return nil, nil
		}
		name := a.PrefixedName()
		if k == spec.DataContentType {
			name = HeaderContentType
		}
		if v, ok := m.header(name); ok {
			return a, v
		}
		return a, nil
	case m.format != nil:
		ev := m.structured()
		if ev == nil {
			return nil, nil
		}
		a := spec.VS.Version(ev.SpecVersion()).AttributeFromKind(k)
		if a == nil {
			return nil, nil
		}
		return a, a.Get(ev.Context)
	}
	return nil, nil
}

// GetExtension returns an extension's value, or nil when absent.
func (m *Message) GetExtension(name string) any {
	switch {
	case m.version != nil:
		if v, ok := m.header(HeaderPrefix + strings.ToLower(name)); ok {
			return v
		}
	case m.format != nil:
		if ev := m.structured(); ev != nil {
			return ev.Extensions()[strings.ToLower(name)]
		}
	}
	return nil
}

// Finish does nothing: a record needs no acknowledgement here.
func (*Message) Finish(error) error { return nil }

func (m *Message) header(name string) (string, bool) {
	for _, h := range m.r.Headers {
		if strings.EqualFold(h.Key, name) {
			return string(h.Value), true
		}
	}
	return "", false
}

// structured parses the value of a structured-mode message once; nil when it
// does not parse.
func (m *Message) structured() *cloudevents.Event {
	if m.parsed == nil {
		ev := cloudevents.New()
		if err := m.format.Unmarshal(m.r.Value, &ev); err != nil {
			return nil
		}
		m.parsed = &ev
	}
	return m.parsed
}
