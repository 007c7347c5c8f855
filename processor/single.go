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
	a := s.en.buildAlert(s.r, alertSpec{chain: []snap{s.en.snapOf(s.r, e)}, idParts: []string{e.ID}, last: e})
	return s.en.raise(s.r, e, a)
}
