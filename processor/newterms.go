package processor

import (
	"strings"
	"time"

	"github.com/bedrockwatch/bedrockwatch/processor/rules"
	"github.com/bedrockwatch/bedrockwatch/schemas"
)

// newTermsRunner runs a new_terms rule: it alerts on the first event, in
// event time, of a combination of field values (a term) not seen within the
// history window before it.
//
// Per term it keeps the first and last event time of its current run of
// sightings. A term is known to an event at time t when it was seen within
// the history window before t, or — for a late event — when its run starts
// less than a history window after t (the first-seen decision for that run
// was already taken; a late event does not make a second one). Last is
// written at most once per history/720 (an hour for 30 days) to keep busy
// terms cheap, and a term is therefore remembered up to that much longer
// than the window.
//
// Order-insensitivity. A new term is not alerted at once: its first
// occurrence is held as pending until the watermark passes its event time,
// and an earlier occurrence arriving meanwhile (within the allowed lateness)
// takes its place. So within the allowed lateness every arrival order gives
// the alert in-order processing gives — same evidence, same id (a hash of
// the rule, the term and the first occurrence's event id) — at the price of
// raising it one allowed lateness after the event. An occurrence later than
// that is compared against what is stored and never raises a second alert
// for a run already decided.
//
// Learning. A pending term alerts only if its time is at least
// history_window after the earliest event time the rule has observed (every
// event counts, matching or not); before that the rule only learns. The
// start is stored, so the learning period survives restarts.
//
// Expiry: a term not seen for history_window (+ the granule) is deleted by
// its expiry entry. State per term: its key (prefix + values) and about 50
// bytes, plus one expiry index entry; a pending term adds one snap (~300
// bytes) for at most the allowed lateness.
type newTermsRunner struct {
	stateful
	history time.Duration
}

func newNewTermsRunner(en *Engine, r *rules.Rule) *newTermsRunner {
	return &newTermsRunner{stateful: newStateful(en, r, "n", r.NewTerms.Fields), history: r.NewTerms.HistoryWindow.D()}
}

type ntState struct {
	First    int64 `json:"f"`
	Last     int64 `json:"l"`
	Pending  *snap `json:"p,omitempty"`
	Override int   `json:"ov,omitempty"` // 1 + index of the override that held for the pending event; 0 none
	Deadline int64 `json:"d"`
}

// granule is how stale Last may be.
func (n *newTermsRunner) granule() int64 {
	g := n.history.Milliseconds() / 720
	if g < 1000 {
		g = 1000
	}
	return g
}

// passOver: every event, matching or not, moves the learning start.
func (n *newTermsRunner) passOver(e *schemas.Event) error { return n.observe(e.Timestamp) }

func (n *newTermsRunner) process(e *schemas.Event) error {
	if err := n.observe(e.Timestamp); err != nil {
		return err
	}
	if !n.r.Condition.Match(e) {
		return nil
	}
	key, ok := n.groupKey(e)
	if !ok {
		return nil
	}
	full := n.full(key)
	st, raw, exists, err := loadStateRaw[ntState](n.en, full)
	if err != nil {
		return err
	}
	t, h, g := e.Timestamp.UnixMilli(), n.history.Milliseconds(), n.granule()
	pend := func() {
		sn := n.en.snapOf(n.r, e)
		st.Pending, st.Override = &sn, 0
		for i, o := range n.r.Compiled {
			if o.Match.Match(e) {
				st.Override = i + 1
				break
			}
		}
	}
	switch {
	case !exists:
		st.First, st.Last = t, t
		pend()
	case t > st.Last+h+g:
		// A new run of a forgotten term; a pending first occurrence of the
		// old run (if its sweep has not come yet) is decided first.
		if st.Pending != nil {
			if err := n.emit(key, st); err != nil {
				return err
			}
		}
		st.First, st.Last = t, t
		pend()
	case st.Pending != nil && e.Timestamp.Before(st.Pending.T):
		st.First = t // an earlier first occurrence, still in time
		pend()
	case t < st.First && st.First-t > h:
		st.First = t // a late run of its own, long before the stored one
		pend()
	case t < st.First:
		st.First = t // known: the run's decision was taken
	case t > st.Last+g:
		st.Last = t
	default:
		keepState(n.en, full, raw, st)
		return nil // known, and nothing to write
	}
	return n.save(full, st)
}

func (n *newTermsRunner) deadline(st *ntState) time.Time {
	if st.Pending != nil {
		return after(st.Pending.T)
	}
	return after(msTime(st.Last + n.history.Milliseconds() + n.granule()))
}

func (n *newTermsRunner) save(full string, st *ntState) error {
	d := n.deadline(st)
	if d.UnixMilli() != st.Deadline {
		if err := n.en.setExpiry(full, msTime(st.Deadline), d); err != nil {
			return err
		}
		st.Deadline = d.UnixMilli()
	}
	return saveState(n.en, full, st)
}

// emit decides a pending first occurrence: an alert once the rule has
// learned, nothing during the learning period.
func (n *newTermsRunner) emit(key string, st *ntState) error {
	p, ov := st.Pending, st.Override
	st.Pending, st.Override = nil, 0
	if err := n.loadStart(); err != nil {
		return err
	}
	if !n.learned(p.T, n.history) {
		return nil
	}
	values := strings.Split(key, groupSep)
	a := n.en.buildAlert(n.r, alertSpec{groupFields: n.groupFields(), groupValues: values, chain: []snap{*p},
		idParts: []string{key, p.ID}})
	if ov > 0 && ov <= len(n.r.Compiled) {
		o := n.r.Compiled[ov-1]
		a.Rule.Severity, a.Rule.RiskScore = o.Severity, o.RiskScore
	}
	a.Metrics["history_window_seconds"] = n.history.Seconds()
	a.Metrics["learning_since"] = n.start.Format(time.RFC3339Nano)
	a.Summary += "; first seen for " + strings.Join(n.describe(values), ", ") + " in " + durationText(n.history)
	n.en.send(a) // new_terms rules take no suppress: one alert per new term
	return nil
}

func (n *newTermsRunner) describe(values []string) []string {
	out := make([]string, len(values))
	for i, f := range n.groupFields() {
		out[i] = f + "=" + values[i]
	}
	return out
}

func (n *newTermsRunner) expire(full string, wm time.Time) error {
	if done, err := n.expireStart(full, wm); done {
		return err
	}
	st, ok, err := loadState[ntState](n.en, full)
	if err != nil || !ok {
		return err
	}
	st.Deadline = 0
	key := full[len(n.prefix):]
	if st.Pending != nil && !wm.Before(after(st.Pending.T)) {
		if err := n.emit(key, st); err != nil {
			return err
		}
	}
	if d := n.deadline(st); !wm.Before(d) {
		return n.en.store.Delete(full)
	}
	return n.save(full, st)
}
