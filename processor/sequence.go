package processor

import (
	"fmt"
	"sort"
	"time"

	"github.com/bedrockwatch/bedrockwatch/processor/eql"
	"github.com/bedrockwatch/bedrockwatch/processor/rules"
	"github.com/bedrockwatch/bedrockwatch/schemas"
)

// sequenceRunner matches an EQL sequence in event time, whatever order its
// events arrive in.
//
// Per join key it keeps, for every step, the events that matched the step
// (bounded by Config.MaxCandidates, oldest dropped first) and the events that
// matched `until`. When an event arrives that matches step i, the runner looks
// both ways: backwards it takes, for each earlier step, the latest candidate
// before the one chosen after it; forwards, for each later step, the earliest
// candidate after the one chosen before it. That choice gives the tightest
// chain around the new event, so if it is longer than maxspan or contains an
// until event, no chain with the new event at step i exists. A complete chain
// raises one alert and consumes its events together with every older candidate
// of the same step — as in Elastic, where a newer event at a stage replaces
// the older one.
//
// The alert id hashes the rule id, the join key and the id of the chain's last
// event, so in-order and out-of-order arrival of the same events give the same
// alert id.
//
// A candidate is kept until the watermark passes its time plus maxspan: after
// that no on-time event can complete a chain with it.
type sequenceRunner struct {
	en     *Engine
	r      *rules.Rule
	seq    *eql.Sequence
	prefix string
	fields []string // names of the join key fields of the first step
}

func newSequenceRunner(en *Engine, r *rules.Rule) *sequenceRunner {
	s := &sequenceRunner{en: en, r: r, seq: r.Sequence, prefix: "q/" + r.ID + "/"}
	if q, ok := r.Parsed.(*eql.SequenceQuery); ok {
		s.fields = append(append([]string{}, q.By...), q.Steps[0].By...)
	}
	return s
}

func (s *sequenceRunner) rule() *rules.Rule   { return s.r }
func (s *sequenceRunner) statePrefix() string { return s.prefix }
func (s *sequenceRunner) dataset() string     { return s.seq.Dataset() }

// passOver: process tests the steps and the until query first, and none
// matches an event of another dataset.
func (s *sequenceRunner) passOver(*schemas.Event) error { return nil }

// seqState is what one join key holds.
type seqState struct {
	Steps    [][]snap `json:"s"`
	Until    []snap   `json:"u,omitempty"`
	Deadline int64    `json:"d"` // Unix ms of the expiry entry; 0 none
}

func (s *sequenceRunner) process(e *schemas.Event) error {
	type hit struct {
		key   string
		steps []int
		until bool
	}
	var hits []hit
	add := func(key string, step int, until bool) {
		for i := range hits {
			if hits[i].key == key {
				if until {
					hits[i].until = true
				} else {
					hits[i].steps = append(hits[i].steps, step)
				}
				return
			}
		}
		h := hit{key: key, until: until}
		if !until {
			h.steps = []int{step}
		}
		hits = append(hits, h)
	}
	for i := range s.seq.Steps {
		st := &s.seq.Steps[i]
		if !st.Match.Match(e) {
			continue
		}
		if key, ok := st.Key(e); ok {
			add(key, i, false)
		}
	}
	if u := s.seq.Until; u != nil && u.Match.Match(e) {
		if key, ok := u.Key(e); ok {
			add(key, -1, true)
		}
	}
	for _, h := range hits {
		if err := s.apply(e, h.key, h.steps, h.until); err != nil {
			return err
		}
	}
	return nil
}

func (s *sequenceRunner) load(key string) (*seqState, error) {
	st, _, err := loadState[seqState](s.en, s.prefix+key)
	if err != nil {
		return nil, fmt.Errorf("sequence: %w", err)
	}
	return st, nil
}

// save writes the state of key, or deletes it when empty, and keeps its
// expiry entry at the earliest candidate's time plus maxspan.
func (s *sequenceRunner) save(key string, st *seqState) error {
	old := time.Time{}
	if st.Deadline != 0 {
		old = time.UnixMilli(st.Deadline)
	}
	// The state lives until its earliest event, candidate or until, can no
	// longer take part in a chain.
	var earliest time.Time
	for _, l := range append(st.Steps, st.Until) {
		for i := range l {
			if earliest.IsZero() || l[i].T.Before(earliest) {
				earliest = l[i].T
			}
		}
	}
	full := s.prefix + key
	if earliest.IsZero() {
		if err := s.en.setExpiry(full, old, time.Time{}); err != nil {
			return err
		}
		return s.en.store.Delete(full)
	}
	deadline := earliest.Add(s.seq.MaxSpan).Truncate(time.Millisecond).Add(time.Millisecond)
	if err := s.en.setExpiry(full, old, deadline); err != nil {
		return err
	}
	st.Deadline = deadline.UnixMilli()
	return saveState(s.en, full, st)
}

func (s *sequenceRunner) apply(e *schemas.Event, key string, steps []int, until bool) error {
	st, err := s.load(key)
	if err != nil {
		return err
	}
	if len(st.Steps) != len(s.seq.Steps) {
		st.Steps = make([][]snap, len(s.seq.Steps))
	}
	sn := s.en.snapOf(s.r, e)
	if until {
		st.Until = insertSnap(st.Until, sn, s.en.cfg.MaxCandidates)
	}
	// Try the later steps first: an event that both completes a chain and
	// could start one completes first, as in Elastic.
	sort.Sort(sort.Reverse(sort.IntSlice(steps)))
	done := false
	for _, i := range steps {
		st.Steps[i] = insertSnap(st.Steps[i], sn, s.en.cfg.MaxCandidates)
		if done {
			continue
		}
		if chain := s.complete(st, i, &sn); chain != nil {
			done = true
			if err := s.alert(e, i, key, chain); err != nil {
				return err
			}
			consume(st, chain)
		}
	}
	return s.save(key, st)
}

// complete returns the tightest chain with sn at step i, or nil.
func (s *sequenceRunner) complete(st *seqState, i int, sn *snap) []snap {
	n := len(s.seq.Steps)
	chain := make([]snap, n)
	chain[i] = *sn
	for j := i - 1; j >= 0; j-- {
		c := latestBefore(st.Steps[j], &chain[j+1])
		if c == nil {
			return nil
		}
		chain[j] = *c
	}
	for j := i + 1; j < n; j++ {
		c := earliestAfter(st.Steps[j], &chain[j-1])
		if c == nil {
			return nil
		}
		chain[j] = *c
	}
	if s.seq.MaxSpan > 0 && chain[n-1].T.Sub(chain[0].T) > s.seq.MaxSpan {
		return nil
	}
	for k := range st.Until {
		u := &st.Until[k]
		if chain[0].before(u) && u.before(&chain[n-1]) {
			return nil
		}
	}
	return chain
}

func latestBefore(l []snap, x *snap) *snap {
	for k := len(l) - 1; k >= 0; k-- {
		if l[k].before(x) {
			return &l[k]
		}
	}
	return nil
}

func earliestAfter(l []snap, x *snap) *snap {
	for k := range l {
		if x.before(&l[k]) {
			return &l[k]
		}
	}
	return nil
}

// consume removes, for every step, the chain's event and every candidate
// before it.
func consume(st *seqState, chain []snap) {
	for j := range st.Steps {
		l := st.Steps[j]
		k := 0
		for k < len(l) && !chain[j].before(&l[k]) {
			k++
		}
		st.Steps[j] = append([]snap(nil), l[k:]...)
	}
}

// insertSnap inserts sn in event-time order, dropping the oldest beyond max.
// An event already present (same id and origin: a redelivery) is not added
// twice.
func insertSnap(l []snap, sn snap, max int) []snap {
	k := sort.Search(len(l), func(k int) bool { return !l[k].before(&sn) })
	if k < len(l) && l[k].ID == sn.ID && l[k].O == sn.O {
		return l
	}
	l = append(l, snap{})
	copy(l[k+1:], l[k:])
	l[k] = sn
	if len(l) > max {
		l = l[len(l)-max:]
	}
	return l
}

// alert raises the alert of a chain completed by e at step i. The group
// values are read from e with step i's key fields: a join makes them equal to
// every step's.
func (s *sequenceRunner) alert(e *schemas.Event, i int, key string, chain []snap) error {
	keys := s.seq.Steps[i].Keys
	values := make([]string, len(keys))
	for k, g := range keys {
		values[k] = g(e).Text()
	}
	a := s.en.buildAlert(s.r, alertSpec{
		groupFields: s.fields, groupValues: values, chain: chain,
		idParts: []string{key, chain[len(chain)-1].ID}, last: e,
	})
	return s.en.raise(s.r, e, a)
}

// expire drops the candidates no on-time event can use any more.
func (s *sequenceRunner) expire(full string, wm time.Time) error {
	key := full[len(s.prefix):]
	st, err := s.load(key)
	if err != nil {
		return err
	}
	st.Deadline = 0 // the sweep removed the entry
	cutoff := wm.Add(-s.seq.MaxSpan)
	for j, l := range st.Steps {
		k := 0
		for k < len(l) && l[k].T.Before(cutoff) {
			k++
		}
		st.Steps[j] = l[k:]
	}
	k := 0
	for k < len(st.Until) && st.Until[k].T.Before(cutoff) {
		k++
	}
	st.Until = st.Until[k:]
	return s.save(key, st)
}
