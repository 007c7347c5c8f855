package processor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/bedrockwatch/bedrockwatch/processor/rules"
	"github.com/bedrockwatch/bedrockwatch/schemas"
)

// thresholdRunner runs a threshold rule: per group, Value events (count) or
// Value distinct values of a field (cardinality) within a sliding window of
// event time.
//
// Count. The group keeps the event times (and each event's estimated cost)
// of the live span — the events at or after watermark − window, the only
// ones an on-time event can share a window with — sorted by event time. When
// an event arrives, every run of Value consecutive events that contains it is
// checked, so a late event that completes a window in the middle fires just
// as the last event would have in order; the earliest such run wins.
//
// Cardinality. The group keeps, per distinct value, the latest event time it
// was seen, and counts the values seen within the window ending at the
// group's latest event. Under disorder bounded by the allowed lateness this
// is exact for windows longer than the lateness; a value seen only at both
// ends of a longer disorder may be missed, never invented.
//
// Alerts are raised at once, on the event that completes the window (its
// time is the alert's). Once a group has fired at time T, events of the group
// before T + window are not counted: the group is quiet for one window, so a
// sustained burst gives one alert per window, not one per event. The alert id
// hashes the rule, the group and the window's first and last event times.
// Evidence is the last MaxEvidence events of the window (each kept under its
// own small key); metrics.count is the number of events in the window.
//
// State per group: count mode ≈ 4 bytes per live event (varint deltas) plus
// 100 bytes; cardinality mode ≈ value length + 15 bytes per distinct value,
// at most 4×Value values; plus MaxEvidence snaps of ~300 bytes.
type thresholdRunner struct {
	stateful
	th     *rules.Threshold
	window time.Duration
}

func newThresholdRunner(en *Engine, r *rules.Rule) *thresholdRunner {
	return &thresholdRunner{stateful: newStateful(en, r, "t", r.GroupBy), th: r.Threshold, window: r.Window.D()}
}

type thrState struct {
	Times    []byte           `json:"ts,omitempty"` // count: entries (time, micro-USD), see encodeEntries
	Vals     map[string]int64 `json:"v,omitempty"`  // cardinality: value → latest Unix ms
	Seq      int              `json:"seq"`          // snaps added to the evidence ring
	Quiet    int64            `json:"q,omitempty"`  // events before this (Unix ms) are not counted
	Last     int64            `json:"l"`            // latest event time counted (Unix ms)
	Unknown  []string         `json:"unk,omitempty"`
	Deadline int64            `json:"d"`
}

// entry is one counted event: its time and estimated cost in micro-USD
// (-1: tokens but no price; 0: no tokens or free).
type entry struct {
	ms   int64
	cost int64
}

func encodeEntries(es []entry) []byte {
	buf := make([]byte, 0, len(es)*5)
	var prev int64
	for _, e := range es {
		buf = binary.AppendVarint(buf, e.ms-prev)
		buf = binary.AppendVarint(buf, e.cost)
		prev = e.ms
	}
	return buf
}

func decodeEntries(b []byte) ([]entry, error) {
	var out []entry
	var prev int64
	for len(b) > 0 {
		d, n := binary.Varint(b)
		if n <= 0 {
			return nil, errors.New("threshold state: bad entry")
		}
		b = b[n:]
		c, n := binary.Varint(b)
		if n <= 0 {
			return nil, errors.New("threshold state: bad entry")
		}
		b = b[n:]
		prev += d
		out = append(out, entry{prev, c})
	}
	return out, nil
}

// ring returns the evidence ring of the group whose state key is full.
func (t *thresholdRunner) ring(full string) evidenceRing {
	return evidenceRing{s: &t.stateful, base: full, n: t.en.cfg.MaxEvidence}
}

// passOver: process tests the condition first.
func (t *thresholdRunner) passOver(*schemas.Event) error { return nil }

func (t *thresholdRunner) process(e *schemas.Event) error {
	if !t.r.Condition.Match(e) {
		return nil
	}
	values, key, ok := t.group(e)
	if !ok {
		return nil
	}
	var distinct string
	if t.th.Distinct != nil {
		v := t.th.Distinct(e)
		if v.IsNull() || v.Text() == "" {
			return nil
		}
		distinct = v.Text()
	}
	full := t.full(key)
	st, raw, exists, err := loadStateRaw[thrState](t.en, full)
	if err != nil {
		return err
	}
	ms := e.Timestamp.UnixMilli()
	if ms < st.Quiet {
		if exists {
			keepState(t.en, full, raw, st)
		}
		return nil // the group fired less than a window ago
	}
	sn := t.en.lazySnap(t.r, e) // projected if read or stored
	if err := t.ring(full).put(st.Seq, sn); err != nil {
		return err
	}
	st.Seq++
	if ms > st.Last {
		st.Last = ms
	}
	var fired bool
	if t.th.Distinct != nil {
		fired, err = t.addDistinct(e, st, key, values, distinct, ms)
	} else {
		fired, err = t.addCount(e, st, key, values, ms)
	}
	if err != nil {
		return err
	}
	if fired {
		if err := t.ring(full).clear(st.Seq); err != nil {
			return err
		}
		st.Seq, st.Times, st.Vals, st.Unknown = 0, nil, nil, nil
	}
	return t.save(full, st)
}

// granule coarsens expiry deadlines, so that a busy group moves its expiry
// entry once per window/8, not on every event.
func (t *thresholdRunner) granule() time.Duration {
	g := t.window / 8
	if g < time.Second {
		g = time.Second
	}
	return g
}

func (t *thresholdRunner) save(full string, st *thrState) error {
	end := st.Last + t.window.Milliseconds()
	if st.Quiet > end {
		end = st.Quiet
	}
	g := t.granule().Milliseconds()
	deadline := (end/g+1)*g + 1
	if deadline != st.Deadline {
		if err := t.en.setExpiry(full, msTime(st.Deadline), msTime(deadline)); err != nil {
			return err
		}
		st.Deadline = deadline
	}
	return saveState(t.en, full, st)
}

func (t *thresholdRunner) addCount(e *schemas.Event, st *thrState, key string, values []string, ms int64) (bool, error) {
	es, err := decodeEntries(st.Times)
	if err != nil {
		return false, fmt.Errorf("%s: %w", key, err)
	}
	// Drop what no on-time event can share a window with.
	if !t.en.wm.IsZero() {
		cut := t.en.wm.UnixMilli() - t.window.Milliseconds()
		k := 0
		for k < len(es) && es[k].ms < cut {
			k++
		}
		es = es[k:]
	}
	cost := int64(0)
	if e.HasPromptTokens || e.HasCompletionTokens {
		if usd, ok := t.en.costOf(e.ModelID, e.PromptTokens, e.CompletionTokens); ok {
			cost = int64(usd*1e6 + 0.5)
		} else {
			cost = -1
			name := e.ModelID
			if name == "" {
				name = unknownModelName
			}
			if !contains(st.Unknown, name) && len(st.Unknown) < maxUnknownModels {
				st.Unknown = append(st.Unknown, name)
			}
		}
	}
	p := sort.Search(len(es), func(i int) bool { return es[i].ms > ms })
	es = append(es, entry{})
	copy(es[p+1:], es[p:])
	es[p] = entry{ms, cost}
	n, w := t.th.Value, t.window.Milliseconds()
	for a := max(0, p-n+1); a <= p; a++ {
		b := a + n - 1
		if b >= len(es) || es[b].ms-es[a].ms > w {
			continue
		}
		win := es[a : b+1]
		if err := t.fire(e, st, key, values, win, nil); err != nil {
			return false, err
		}
		st.Quiet = es[b].ms + w
		return true, nil
	}
	st.Times = encodeEntries(es)
	return false, nil
}

func (t *thresholdRunner) addDistinct(e *schemas.Event, st *thrState, key string, values []string, v string, ms int64) (bool, error) {
	if st.Vals == nil {
		st.Vals = map[string]int64{}
	}
	if ms > st.Vals[v] {
		st.Vals[v] = ms
	}
	w := t.window.Milliseconds()
	// Forget values that can no longer be in a window with an on-time
	// event, and bound the map.
	cut := st.Last - w - t.en.cfg.AllowedLateness.Milliseconds()
	for k, x := range st.Vals {
		if x < cut {
			delete(st.Vals, k)
		}
	}
	if limit := 4 * t.th.Value; len(st.Vals) > limit {
		type kv struct {
			k string
			t int64
		}
		all := make([]kv, 0, len(st.Vals))
		for k, x := range st.Vals {
			all = append(all, kv{k, x})
		}
		sort.Slice(all, func(i, j int) bool { return all[i].t > all[j].t || all[i].t == all[j].t && all[i].k < all[j].k })
		for _, x := range all[limit:] {
			delete(st.Vals, x.k)
		}
	}
	var in []string
	first := st.Last
	for k, x := range st.Vals {
		if x >= st.Last-w {
			in = append(in, k)
			if x < first {
				first = x
			}
		}
	}
	if len(in) < t.th.Value {
		return false, nil
	}
	sort.Strings(in)
	if err := t.fire(e, st, key, values, []entry{{first, 0}, {st.Last, 0}}, in); err != nil {
		return false, err
	}
	st.Quiet = st.Last + w
	return true, nil
}

// fire raises the alert of a window: win holds the counted entries (count
// mode) or its first and last times (cardinality), distinct the values.
func (t *thresholdRunner) fire(e *schemas.Event, st *thrState, key string, values []string, win []entry, distinct []string) error {
	from, to := msTime(win[0].ms), msTime(win[len(win)-1].ms)
	chain, err := t.ring(t.full(key)).list(st.Seq, from, to)
	if err != nil {
		return err
	}
	if len(chain) == 0 {
		chain = []snap{t.en.snapOf(t.r, e)}
	}
	a := t.en.buildAlert(t.r, alertSpec{groupFields: t.groupFields(), groupValues: values, chain: chain,
		idParts: []string{key, fmt.Sprint(win[0].ms), fmt.Sprint(win[len(win)-1].ms)}, last: e})
	a.Time, a.Window = to, schemas.Window{Start: from, End: to}
	m := a.Metrics
	m["threshold"] = t.th.Value
	m["window_seconds"] = t.window.Seconds()
	if distinct != nil {
		m["cardinality"] = len(distinct)
		m["cardinality_field"] = t.th.Cardinality
		if len(distinct) > 100 {
			distinct = distinct[:100]
		}
		m["distinct_values"] = distinct
		a.Summary += fmt.Sprintf("; %d distinct %s within %s: %s", len(distinct), t.th.Cardinality, durationText(t.window), strings.Join(distinct, ", "))
	} else {
		a.EvidenceCount = len(win)
		m["count"] = len(win)
		var c costTally
		for _, x := range win {
			if x.cost > 0 {
				c.USD += float64(x.cost) / 1e6
				c.Priced = true
			}
		}
		if c.Priced || len(st.Unknown) > 0 {
			delete(m, "estimated_cost_usd")
			delete(m, "cost_unknown_models")
			c.Unknown = st.Unknown
			c.put(m)
		}
		a.Summary += fmt.Sprintf("; %d events within %s (threshold %d)", len(win), durationText(t.window), t.th.Value)
	}
	return t.en.raise(t.r, e, a)
}

// expire drops a group no on-time event can add to, or moves its entry.
func (t *thresholdRunner) expire(full string, wm time.Time) error {
	if done, err := t.expireStart(full, wm); done {
		return err
	}
	if strings.Contains(full[len(t.prefix):], metaSep) {
		return t.en.store.Delete(full) // an evidence key whose group is gone
	}
	st, ok, err := loadState[thrState](t.en, full)
	if err != nil || !ok {
		return err
	}
	st.Deadline = 0
	end := st.Last + t.window.Milliseconds()
	if st.Quiet > end {
		end = st.Quiet
	}
	if wm.UnixMilli() < end {
		return t.save(full, st)
	}
	if err := t.ring(full).clear(st.Seq); err != nil {
		return err
	}
	return t.en.store.Delete(full)
}
