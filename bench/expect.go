package bench

import (
	"bytes"
	"fmt"
	"time"

	"github.com/bedrockwatch/bedrockwatch/processor"
	"github.com/bedrockwatch/bedrockwatch/processor/rules"
	"github.com/bedrockwatch/bedrockwatch/schemas"
	"github.com/bedrockwatch/bedrockwatch/state"
)

// ExpectedAlert is an alert the real engine raised on generated traffic.
type ExpectedAlert struct {
	ID      string
	RuleID  string
	Subject string
	Time    time.Time // event time of the last triggering event
	// Trigger is the event id (eventID, requestId, event.id) of the
	// triggering event latest in event time: the record whose arrival lets
	// the alert be raised. Empty for alerts raised by the watermark alone
	// (window summaries, suppression follow-ups).
	Trigger string
	// Record is the index of the Trigger record in the traffic (the count
	// of records added before it), -1 when unknown.
	Record int64
}

// Expect computes the alerts of generated traffic by running the real
// engine over it exactly as `bedrockwatch replay` does — one partition,
// in-memory state, records in generation order — so that a run of the
// service on the same traffic can be checked alert by alert (SPEC §6: alert
// ids are deterministic). It is not safe for concurrent use.
type Expect struct {
	rp     *processor.Replayer
	buf    bytes.Buffer
	alerts []ExpectedAlert
	byID   map[string]int
	chunk  int
	added  int64            // records added
	starts map[string]int64 // chunk name → index of its first record
	next   int64            // index of the first record of the chunk being filled
}

// NewExpect returns an Expect running rs with cfg (use
// processor.DefaultReplayConfig with the service's Engine and Decode
// settings).
func NewExpect(rs []*rules.Rule, cfg processor.ReplayConfig) (*Expect, error) {
	x := &Expect{byID: map[string]int{}, chunk: 8 << 20, starts: map[string]int64{}}
	rp, err := processor.NewReplayer(rs, state.NewMemory(), cfg, x.collect)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	x.rp = rp
	return x, nil
}

func (x *Expect) collect(a *schemas.Alert) {
	ea := ExpectedAlert{ID: a.ID, RuleID: a.Rule.ID, Subject: a.Subject, Time: a.Time, Record: -1}
	var last time.Time
	for _, ev := range a.Evidence {
		if ev.EventID != "" && !ev.Time.Before(last) {
			last, ea.Trigger = ev.Time, ev.EventID
			if start, ok := x.starts[ev.File]; ok && ev.Line > 0 {
				ea.Record = start + int64(ev.Line) - 1
			} else {
				ea.Record = -1
			}
		}
	}
	if a.SuppressionOf != "" {
		ea.Trigger, ea.Record = "", -1 // raised when the period closed, by the watermark
	}
	if _, dup := x.byID[a.ID]; dup {
		return
	}
	x.byID[a.ID] = len(x.alerts)
	x.alerts = append(x.alerts, ea)
}

// Add queues one record; records are evaluated in the order added, a
// chunk at a time. Its key and value are copied.
func (x *Expect) Add(r Record) error {
	x.buf.Write(r.Value)
	x.buf.WriteByte('\n')
	x.added++
	if x.buf.Len() >= x.chunk {
		return x.Sync()
	}
	return nil
}

// Sync evaluates the queued records.
func (x *Expect) Sync() error {
	if x.buf.Len() == 0 {
		return nil
	}
	name := fmt.Sprintf("generated-%d", len(x.starts))
	x.starts[name] = x.next
	x.next = x.added
	err := x.rp.ReadFile(name, &x.buf)
	x.buf.Reset()
	if err != nil {
		return fmt.Errorf("bench: expected alerts: %w", err)
	}
	return nil
}

// Finish evaluates what is queued and ends the traffic. With flush the end
// of the records is the end of the stream (open windows and suppression
// periods close and emit); without, they stay open, as a service that
// keeps running sees them.
func (x *Expect) Finish(flush bool) error {
	if err := x.Sync(); err != nil {
		return err
	}
	return x.rp.Finish(flush)
}

// Alerts returns the alerts raised so far, in the order raised, each id
// once.
func (x *Expect) Alerts() []ExpectedAlert { return append([]ExpectedAlert(nil), x.alerts...) }

// Stats returns the replay counters (records by source and status, late
// events, alerts by rule).
func (x *Expect) Stats() processor.ReplayStats { return x.rp.Stats() }
