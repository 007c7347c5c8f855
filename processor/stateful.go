package processor

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bedrockwatch/bedrockwatch/processor/rules"
	"github.com/bedrockwatch/bedrockwatch/schemas"
)

// stateful is what the new_terms, threshold, outlier and aggregate runners
// share: their key prefix, group keys, JSON state and the rule's learning
// start.
//
// Every state key of a runner begins with its prefix "<kind>/<rule id>/"
// (n, t, o, g), so the engine dispatches expiry to it. A group's key is the
// prefix plus the group values joined by groupSep; a group with a null value
// is skipped (as Elastic skips documents missing a group_by field). Keys that
// are not groups begin, after the prefix, with metaSep, which no group value
// can produce.
type stateful struct {
	en     *Engine
	r      *rules.Rule
	prefix string
	// startKey is prefix + startSuffix, the learning start record's key.
	startKey string
	groups   []rules.FieldRef

	// start caches the learning start (see observe); zero before loaded.
	start      time.Time
	startKnown bool

	// lastFull remembers the state key full built last: events of one
	// group often come in runs.
	lastFull keyMemo
}

// keyMemo remembers the key last built from a group key.
type keyMemo struct{ of, key string }

// get returns prefix + group + suffix, built again only when group is not
// the last one asked for.
func (m *keyMemo) get(prefix, group, suffix string) string {
	if group != m.of || m.key == "" {
		m.of, m.key = group, prefix+group+suffix
	}
	return m.key
}

const (
	groupSep = "\x1f"
	metaSep  = "\x00"
	// startSuffix keys the learning start record: prefix + "\x00start".
	startSuffix = metaSep + "start"
)

// endOfTime is the expiry deadline of records that go only when the stream
// ends: Flush sweeps at 2^40 s, and this is before that.
var endOfTime = time.Unix(1<<39, 0)

func newStateful(en *Engine, r *rules.Rule, kind string, groups []rules.FieldRef) stateful {
	prefix := kind + "/" + r.ID + "/"
	return stateful{en: en, r: r, prefix: prefix, startKey: prefix + startSuffix, groups: groups}
}

func (s *stateful) rule() *rules.Rule   { return s.r }
func (s *stateful) statePrefix() string { return s.prefix }
func (s *stateful) dataset() string     { return s.r.Condition.Dataset() }

// group returns the group values of e and its state key suffix; ok is false
// when a group field is null or empty.
func (s *stateful) group(e *schemas.Event) (values []string, key string, ok bool) {
	values = make([]string, len(s.groups))
	for i, g := range s.groups {
		v := g.Get(e)
		if v.IsNull() {
			return nil, "", false
		}
		values[i] = v.Text()
		if values[i] == "" {
			return nil, "", false
		}
	}
	return values, strings.Join(values, groupSep), true
}

// groupKey is the key of group, without the values.
func (s *stateful) groupKey(e *schemas.Event) (key string, ok bool) {
	if len(s.groups) == 1 { // the common case, without a slice of values
		v := s.groups[0].Get(e)
		if v.IsNull() {
			return "", false
		}
		key = v.Text()
		return key, key != ""
	}
	_, key, ok = s.group(e)
	return key, ok
}

// full returns the state key of group key: prefix + key.
func (s *stateful) full(key string) string { return s.lastFull.get(s.prefix, key, "") }

func (s *stateful) groupFields() []string {
	out := make([]string, len(s.groups))
	for i, g := range s.groups {
		out[i] = g.String()
	}
	return out
}

// observe records that the rule has seen event time t. The learning start is
// the earliest event time the rule has seen (any event, matching or not),
// kept in the store under prefix+startSuffix so that it survives restarts;
// it is written only when it moves back. Its expiry entry lies at endOfTime:
// it goes when the stream ends (Flush), with the rest of the rule's state.
func (s *stateful) observe(t time.Time) error {
	if err := s.loadStart(); err != nil {
		return err
	}
	if s.startKnown && !t.Before(s.start) {
		return nil
	}
	first := !s.startKnown
	s.start, s.startKnown = t, true
	if first {
		if err := s.en.setExpiry(s.startKey, time.Time{}, endOfTime); err != nil {
			return err
		}
	}
	return s.en.store.Put(s.startKey, []byte(strconv.FormatInt(t.UnixMilli(), 10)))
}

func (s *stateful) loadStart() error {
	if s.startKnown {
		return nil
	}
	raw, ok, err := s.en.store.Get(s.startKey)
	if err != nil || !ok {
		return err
	}
	ms, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return fmt.Errorf("learning start of %s: %w", s.r.ID, err)
	}
	s.start, s.startKnown = time.UnixMilli(ms).UTC(), true
	return nil
}

// learned reports whether the rule had observed span of event time before t:
// the learning period is over.
func (s *stateful) learned(t time.Time, span time.Duration) bool {
	return s.startKnown && !t.Before(s.start.Add(span))
}

// expireStart handles the expiry of the start record (at Flush).
func (s *stateful) expireStart(key string, wm time.Time) (bool, error) {
	if key != s.startKey {
		return false, nil
	}
	if wm.Before(endOfTime) {
		return true, s.en.setExpiry(key, time.Time{}, endOfTime)
	}
	s.start, s.startKnown = time.Time{}, false
	return true, s.en.store.Delete(key)
}

// msTime and timeMs convert the Unix milliseconds state keeps.
func msTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func timeMs(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// after returns the first deadline strictly after t: the sweep expires a key
// when the watermark reaches its deadline.
func after(t time.Time) time.Time { return t.Truncate(time.Millisecond).Add(time.Millisecond) }

// evidenceRing keeps the last n snaps of a group under their own small keys
// (base + "\x00e" + slot), so that adding one costs one small write whatever
// the window holds. The caller keeps the sequence number.
type evidenceRing struct {
	s    *stateful
	base string
	n    int
}

func (r evidenceRing) key(seq int) string { return r.base + metaSep + "e" + strconv.Itoa(seq%r.n) }

// put stores sn, which may be lazy, in slot seq (written behind: see
// writeBehind.putSnap).
func (r evidenceRing) put(seq int, sn *snap) error { return r.s.en.pending.putSnap(r.key(seq), sn) }

// list returns the stored snaps (seq is the count added) with event times in
// [from, to], in event-time order.
func (r evidenceRing) list(seq int, from, to time.Time) ([]snap, error) {
	var out []snap
	lo := seq - r.n
	if lo < 0 {
		lo = 0
	}
	for i := lo; i < seq; i++ {
		sn, ok, err := r.s.en.pending.snapIn(r.key(i), from, to)
		if err != nil {
			return nil, err
		}
		if ok {
			out = insertSnap(out, sn, r.n)
		}
	}
	return out, nil
}

// clear deletes the ring's keys.
func (r evidenceRing) clear(seq int) error {
	m := seq
	if m > r.n {
		m = r.n
	}
	for i := 0; i < m; i++ {
		if err := r.s.en.store.Delete(r.key(i)); err != nil {
			return err
		}
	}
	return nil
}

// durationText writes 30d, 14d, 1h, 90m.
func durationText(d time.Duration) string {
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	case d >= time.Hour && d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d >= time.Minute && d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	return d.String()
}
