package processor

import (
	"time"

	"github.com/bedrockwatch/bedrockwatch/processor/rules"
	"github.com/bedrockwatch/bedrockwatch/schemas"
)

// singleRunner runs an EQL event query: every matching event is an alert. It
// keeps no state of its own (suppression keeps its own).
type singleRunner struct {
	en *Engine
	r  *rules.Rule
}

func (s *singleRunner) rule() *rules.Rule                    { return s.r }
func (s *singleRunner) statePrefix() string                  { return "" }
func (s *singleRunner) expire(key string, _ time.Time) error { return s.en.store.Delete(key) }
func (s *singleRunner) dataset() string                      { return s.r.Condition.Dataset() }
func (s *singleRunner) passOver(*schemas.Event) error        { return nil }

// process raises an alert for e if it matches. An alert that suppression
// will fold is not built: the period needs only its time and evidence (see
// suppressor.count). The prompt excerpt appears only in the alert itself
// (not in the evidence a period keeps), so it too is computed only for an
// alert that is sent.
func (s *singleRunner) process(e *schemas.Event) error {
	if !s.r.Condition.Match(e) {
		return nil
	}
	var p period
	if s.r.Suppress != nil {
		var err error
		if p, err = s.en.supp.find(s.r, e); err != nil {
			return err
		}
		if p.covers(e.Timestamp) {
			// What buildAlert would give: the alert's time is e's, its
			// evidence e's snap alone.
			return s.en.supp.count(s.r, &p, e.Timestamp, 1, func() []schemas.Evidence {
				sn := s.en.snapWithoutPrompt(s.r, e)
				return []schemas.Evidence{sn.evidence()}
			})
		}
	}
	chain := []snap{s.en.snapWithoutPrompt(s.r, e)}
	a := s.en.buildAlert(s.r, alertSpec{chain: chain, idParts: []string{e.ID}, last: e})
	if pr := s.en.promptOf(s.r, e); pr != nil {
		chain[0].Prompt, a.Prompt = pr, pr
		a.Summary = summarize(a, chain)
	}
	if s.r.Suppress != nil {
		if err := s.en.supp.open(s.r, &p, a); err != nil {
			return err
		}
	}
	s.en.send(a)
	return nil
}
