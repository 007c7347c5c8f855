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

func (s *singleRunner) process(e *schemas.Event) error {
	if !s.r.Condition.Match(e) {
		return nil
	}
	// The prompt excerpt appears only in the alert itself (not in the
	// evidence a suppression period keeps), so it is computed only for an
	// alert that is sent.
	chain := []snap{s.en.snapWithoutPrompt(s.r, e)}
	a := s.en.buildAlert(s.r, alertSpec{chain: chain, idParts: []string{e.ID}, last: e})
	fill := func() {
		if p := s.en.promptOf(s.r, e); p != nil {
			chain[0].Prompt, a.Prompt = p, p
			a.Summary = summarize(a, chain)
		}
	}
	return s.en.raiseWith(s.r, e, a, fill)
}
