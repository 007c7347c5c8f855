package processor

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bedrockwatch/bedrockwatch/processor/rules"
	"github.com/bedrockwatch/bedrockwatch/schemas"
)

// aggregateRunner runs an aggregate rule: per group and tumbling window of
// event time (aligned on multiples of the window since the Unix epoch), it
// counts the matching events per category — the first category whose
// condition holds, else "other" — and when the watermark passes the window's
// end (or the stream ends) raises one summary alert for each group that had
// activity, with metrics.counts and the counts in the summary line.
//
// Events arrive out of order: a window stays open until the watermark passes
// its end, so events within the allowed lateness land in the right window
// whatever their arrival order. An event for a window already summarised is
// late; it is counted in Stats.Late and not added (a second summary for the
// same window would repeat the first's id). The alert id hashes the rule,
// the group and the window start.
//
// State per group and open window: a record of about 60 bytes plus 10 per
// category, and the last MaxEvidence snaps (~300 bytes each) as evidence.
type aggregateRunner struct {
	stateful
	agg    *rules.Aggregate
	window time.Duration
}

func newAggregateRunner(en *Engine, r *rules.Rule) *aggregateRunner {
	return &aggregateRunner{stateful: newStateful(en, r, "g", r.GroupBy), agg: r.Aggregate, window: r.Window.D()}
}

type aggState struct {
	Counts []int     `json:"c"` // per category, then other
	N      int       `json:"n"`
	Seq    int       `json:"seq"`
	Last   int64     `json:"l"`
	PTok   int64     `json:"pt,omitempty"`
	CTok   int64     `json:"ct,omitempty"`
	Cost   costTally `json:"cost"`
}

// windowKey is prefix + 16 hex digits of the window start (Unix ms) + "/" +
// group: windows sort by start.
func (g *aggregateRunner) windowKey(start time.Time, group string) string {
	return g.prefix + fmt.Sprintf("%016x", uint64(start.UnixMilli())) + "/" + group
}

func (g *aggregateRunner) ring(full string) evidenceRing {
	return evidenceRing{s: &g.stateful, base: full, n: g.en.cfg.MaxEvidence}
}

// passOver: process tests the condition first.
func (g *aggregateRunner) passOver(*schemas.Event) error { return nil }

func (g *aggregateRunner) process(e *schemas.Event) error {
	if !g.r.Condition.Match(e) {
		return nil
	}
	group, ok := g.groupKey(e)
	if !ok {
		return nil
	}
	start := e.Timestamp.Truncate(g.window)
	end := start.Add(g.window)
	full := g.windowKey(start, group)
	st, exists, err := loadState[aggState](g.en, full)
	if err != nil {
		return err
	}
	if !exists {
		if !g.en.wm.IsZero() && !g.en.wm.Before(end) {
			return nil // its window was summarised already: late
		}
		st.Counts = make([]int, len(g.agg.Categories)+1)
		if err := g.en.setExpiry(full, time.Time{}, end); err != nil {
			return err
		}
	}
	cat := len(g.agg.Categories)
	for i := range g.agg.Categories {
		if g.agg.Categories[i].Match.Match(e) {
			cat = i
			break
		}
	}
	if cat < len(st.Counts) {
		st.Counts[cat]++
	}
	st.N++
	if ms := e.Timestamp.UnixMilli(); ms > st.Last {
		st.Last = ms
	}
	if e.HasPromptTokens || e.HasCompletionTokens {
		st.PTok += e.PromptTokens
		st.CTok += e.CompletionTokens
		st.Cost.add(g.en, e.ModelID, e.PromptTokens, e.CompletionTokens)
	}
	sn := g.en.lazySnap(g.r, e) // projected if read or stored
	if err := g.ring(full).put(st.Seq, sn); err != nil {
		return err
	}
	st.Seq++
	return saveState(g.en, full, st)
}

func (g *aggregateRunner) expire(full string, wm time.Time) error {
	if done, err := g.expireStart(full, wm); done {
		return err
	}
	rest := full[len(g.prefix):]
	if strings.Contains(rest, metaSep) || len(rest) < 17 {
		return g.en.store.Delete(full)
	}
	st, ok, err := loadState[aggState](g.en, full)
	if err != nil || !ok {
		return err
	}
	startMs, err := strconv.ParseUint(rest[:16], 16, 64)
	if err != nil {
		return fmt.Errorf("aggregate state %q: %w", full, err)
	}
	start := msTime(int64(startMs))
	end := start.Add(g.window)
	if wm.Before(end) {
		return g.en.setExpiry(full, time.Time{}, end)
	}
	if err := g.summarise(full, rest[17:], start, end, st); err != nil {
		return err
	}
	if err := g.ring(full).clear(st.Seq); err != nil {
		return err
	}
	return g.en.store.Delete(full)
}

func (g *aggregateRunner) summarise(full, group string, start, end time.Time, st *aggState) error {
	chain, err := g.ring(full).list(st.Seq, start, end)
	if err != nil {
		return err
	}
	if len(chain) == 0 {
		return nil
	}
	values := strings.Split(group, groupSep)
	a := g.en.buildAlert(g.r, alertSpec{groupFields: g.groupFields(), groupValues: values, chain: chain,
		idParts: []string{group, strconv.FormatInt(start.UnixMilli(), 10)}})
	a.Time = msTime(st.Last)
	a.Window = schemas.Window{Start: start, End: end}
	a.EvidenceCount = st.N
	m := a.Metrics
	m["count"] = st.N
	m["window_seconds"] = g.window.Seconds()
	counts := map[string]int{}
	var parts []string
	for i, c := range st.Counts {
		name := rules.OtherCategory
		if i < len(g.agg.Categories) {
			name = g.agg.Categories[i].Name
		}
		counts[name] = c
		parts = append(parts, fmt.Sprintf("%s %d", name, c))
	}
	m["counts"] = counts
	delete(m, "prompt_tokens")
	delete(m, "completion_tokens")
	delete(m, "estimated_cost_usd")
	delete(m, "cost_unknown_models")
	if st.PTok > 0 || st.CTok > 0 {
		m["prompt_tokens"], m["completion_tokens"] = st.PTok, st.CTok
		st.Cost.put(m)
	}
	who := strings.Join(values, " on ")
	a.Summary = fmt.Sprintf("%s: %s, %s to %s: %s (%d events)", g.r.Name, who,
		start.UTC().Format("2006-01-02T15:04Z"), end.UTC().Format("2006-01-02T15:04Z"), strings.Join(parts, ", "), st.N)
	g.en.send(a) // aggregate rules take no suppress: one summary per window
	return nil
}
