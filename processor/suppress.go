package processor

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/bedrockwatch/bedrockwatch/processor/rules"
	"github.com/bedrockwatch/bedrockwatch/schemas"
)

// suppressPrefix begins the state keys of suppression periods:
// "s/<rule id>/<group values>", with the first alert under the same key plus
// "\x00first" and suppressed evidence under "\x00e<n>".
const suppressPrefix = "s/"

// suppressor folds repeated alerts (SPEC §4 suppress). The first alert of a
// group passes at once and opens a period of `for` in event time; later
// alerts of the group that fall before its end are counted instead of sent.
// When the period closes — the watermark passes its end, an alert of the
// group arrives after it, or the stream ends — a non-zero count becomes one
// follow-up alert: data.suppression_of names the first alert and
// data.suppressed_count the count.
//
// A suppressed alert costs one small record read and written (and, for the
// first MaxEvidence of them, one evidence entry written once): the first
// alert is stored once when the period opens and read back only to build the
// follow-up.
type suppressor struct{ en *Engine }

// suppState is the small, often-rewritten record of a period.
type suppState struct {
	FirstID  string    `json:"id"`
	Subject  string    `json:"subj"`
	End      time.Time `json:"end"`
	Count    int       `json:"n"`
	Evidence int       `json:"ev"` // evidence entries stored
	EvCount  int       `json:"evn"`
	// Earliest and Last bound the event times of the period's alerts,
	// which may arrive out of order.
	Earliest time.Time `json:"t0"`
	Last     time.Time `json:"t1"`
}

const (
	firstSuffix    = "\x00first"
	evidenceSuffix = "\x00e"
)

func suppressKey(r *rules.Rule, e *schemas.Event) string {
	values := make([]string, len(r.Suppress.By))
	for i, f := range r.Suppress.By {
		values[i] = schemas.FieldGetter(f)(e).Text()
	}
	return suppressPrefix + r.ID + "/" + schemas.JoinGroup(values)
}

// period is the suppression state of one group as found when an alert of
// it arrives.
type period struct {
	key string
	st  *suppState
	ok  bool // a period is stored (it may have ended)
}

// covers reports whether an alert at event time t falls in the period: it
// is suppressed.
func (p *period) covers(t time.Time) bool { return p.ok && t.Before(p.st.End) }

// find returns the period of the group of e under r.
func (s *suppressor) find(r *rules.Rule, e *schemas.Event) (period, error) {
	key := suppressKey(r, e)
	st, ok, err := s.load(key)
	if err != nil {
		return period{}, err
	}
	return period{key: key, st: st, ok: ok}, nil
}

// offer reports whether a is suppressed; if not, it opens a period for a,
// which the caller then sends.
func (s *suppressor) offer(r *rules.Rule, e *schemas.Event, a *schemas.Alert) (bool, error) {
	p, err := s.find(r, e)
	if err != nil {
		return false, err
	}
	if p.covers(a.Time) {
		return true, s.count(r, &p, a.Time, a.EvidenceCount, func() []schemas.Evidence { return a.Evidence })
	}
	return false, s.open(r, &p, a)
}

// count suppresses an alert at event time t that p covers: it adds the
// alert to the period's count, its time bounds and, while the period has
// fewer than MaxEvidence entries, its evidence. evidence, called only then,
// returns the alert's evidence list; n is its evidence count. Nothing else
// of a suppressed alert is kept, so a runner may call count without
// building the alert (see singleRunner).
func (s *suppressor) count(r *rules.Rule, p *period, t time.Time, n int, evidence func() []schemas.Evidence) error {
	st := p.st
	st.Count++
	st.Last = maxTime(st.Last, t)
	st.Earliest = minTime(st.Earliest, t)
	if st.Evidence < s.en.cfg.MaxEvidence {
		for _, ev := range evidence() {
			if st.Evidence >= s.en.cfg.MaxEvidence {
				break
			}
			if err := s.putEvidence(fmt.Sprintf("%s%s%02d", p.key, evidenceSuffix, st.Evidence), &ev); err != nil {
				return err
			}
			st.Evidence++
		}
	}
	st.EvCount += n
	s.en.stats.Suppressed[r.ID]++
	return saveState(s.en, p.key, st)
}

// open closes p if a period is stored (emitting its follow-up) and opens a
// new one with a, complete, as its first alert.
func (s *suppressor) open(r *rules.Rule, p *period, a *schemas.Alert) error {
	if p.ok {
		if err := s.close(p.key, p.st); err != nil {
			return err
		}
	}
	// The first alert is read back only for a follow-up, and most periods
	// fold nothing: it is written behind (saveState), so a period that
	// closes before the next sync never encodes it.
	first := *a
	first.Evidence, first.Prompt = nil, nil // the follow-up cites its own evidence
	if err := saveState(s.en, p.key+firstSuffix, &first); err != nil {
		return err
	}
	st := &suppState{FirstID: a.ID, Subject: a.Subject, End: a.Time.Add(r.Suppress.For.D()), Earliest: a.Time, Last: a.Time}
	if err := s.en.setExpiry(p.key, time.Time{}, st.End); err != nil {
		return err
	}
	return saveState(s.en, p.key, st)
}

// putEvidence stores one evidence entry of a period.
func (s *suppressor) putEvidence(key string, ev *schemas.Evidence) error {
	raw, ok := appendEvidenceJSON(nil, ev)
	if !ok {
		return s.putJSON(key, ev)
	}
	return s.en.store.Put(key, raw)
}

func (s *suppressor) putJSON(key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.en.store.Put(key, raw)
}

func (s *suppressor) getJSON(key string, v any) (bool, error) {
	raw, ok, err := s.en.store.Get(key)
	if err != nil || !ok {
		return false, err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return false, fmt.Errorf("suppression state %q: %w", key, err)
	}
	return true, nil
}

func (s *suppressor) load(key string) (*suppState, bool, error) {
	st, ok, err := loadState[suppState](s.en, key)
	if err != nil {
		return nil, false, fmt.Errorf("suppression: %w", err)
	}
	return st, ok, nil
}

// close ends a period: emits the follow-up if anything was suppressed, and
// deletes the period's keys and its expiry entry.
func (s *suppressor) close(key string, st *suppState) error {
	if err := s.en.setExpiry(key, st.End, time.Time{}); err != nil {
		return err
	}
	return s.finish(key, st)
}

// finish emits the follow-up of a period whose expiry entry is gone, then
// deletes its keys.
func (s *suppressor) finish(key string, st *suppState) error {
	if st.Count > 0 {
		first, _, err := loadState[schemas.Alert](s.en, key+firstSuffix)
		if err != nil {
			return err
		}
		f := *first
		f.Evidence = make([]schemas.Evidence, 0, st.Evidence)
		for i := 0; i < st.Evidence; i++ {
			var ev schemas.Evidence
			if _, err := s.getJSON(fmt.Sprintf("%s%s%02d", key, evidenceSuffix, i), &ev); err != nil {
				return err
			}
			f.Evidence = append(f.Evidence, ev)
		}
		f.ID = schemas.AlertID(f.Rule.ID, "followup", st.FirstID)
		f.Time = st.Last
		f.Subject = st.Subject
		f.SuppressionOf = st.FirstID
		f.SuppressedCount = st.Count
		f.Window = schemas.Window{Start: st.Earliest, End: st.Last}
		f.EvidenceCount = st.EvCount
		f.Metrics = map[string]any{"count": st.Count}
		f.Summary = fmt.Sprintf("%s: %d more alert(s) for %s suppressed between %s and %s (first alert %s)",
			f.Rule.Name, st.Count, f.Subject, st.Earliest.UTC().Format(time.RFC3339), st.Last.UTC().Format(time.RFC3339), st.FirstID)
		s.en.send(&f)
	}
	for i := 0; i < st.Evidence; i++ {
		if err := s.en.store.Delete(fmt.Sprintf("%s%s%02d", key, evidenceSuffix, i)); err != nil {
			return err
		}
	}
	if err := s.en.store.Delete(key + firstSuffix); err != nil {
		return err
	}
	return s.en.store.Delete(key)
}

// expire closes the period of key once the watermark has passed its end. The
// sweep has already removed its expiry entry.
func (s *suppressor) expire(key string, wm time.Time) error {
	st, ok, err := s.load(key)
	if err != nil || !ok {
		return err
	}
	if wm.Before(st.End) {
		return s.en.setExpiry(key, time.Time{}, st.End)
	}
	return s.finish(key, st)
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
