package processor

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bedrockwatch/bedrockwatch/processor/rules"
	"github.com/bedrockwatch/bedrockwatch/schemas"
	"github.com/bedrockwatch/bedrockwatch/state"
)

// TestResult is the outcome of one rule test case.
type TestResult struct {
	Rule string
	Case string
	File string
	Line int
	// Failures lists what went wrong; empty means the case passed.
	Failures []string
}

// Passed reports whether the case passed.
func (t TestResult) Passed() bool { return len(t.Failures) == 0 }

// RunRuleTests runs every test case of r. Each case runs on a fresh engine
// holding only r, with the events in the order listed and then — unless the
// case says arrival: as_listed — in reverse order, and both runs must give the
// expected alerts: a detection must not depend on arrival order.
func RunRuleTests(r *rules.Rule, cfg Config) []TestResult {
	var out []TestResult
	for i, tc := range r.Tests {
		res := TestResult{Rule: r.ID, Case: tc.Name, File: r.File, Line: tc.Line}
		events, err := testEvents(r, i, tc)
		if err != nil {
			res.Failures = append(res.Failures, err.Error())
			out = append(out, res)
			continue
		}
		orders := []string{"listed"}
		if tc.Arrival != "as_listed" && len(events) > 1 {
			orders = append(orders, "reversed")
		}
		for _, order := range orders {
			in := events
			if order == "reversed" {
				in = make([]*schemas.Event, len(events))
				for k, e := range events {
					in[len(events)-1-k] = e
				}
			}
			alerts, err := runEvents(r, cfg, in)
			if err != nil {
				res.Failures = append(res.Failures, fmt.Sprintf("%s arrival: %v", order, err))
				continue
			}
			for _, f := range checkExpectations(tc.Expect, alerts) {
				res.Failures = append(res.Failures, fmt.Sprintf("%s arrival: %s", order, f))
			}
		}
		out = append(out, res)
	}
	return out
}

// testEvents builds the events of a case. Events without an id get
// "<rule>-t<case>-e<n>", and each carries its place in the case as origin, so
// ordering ties break the same way in every run.
func testEvents(r *rules.Rule, ci int, tc rules.TestCase) ([]*schemas.Event, error) {
	var dec *schemas.Decoder
	var out []*schemas.Event
	expanded, err := expandRepeats(tc.Events)
	if err != nil {
		return nil, err
	}
	for n, fields := range expanded {
		origin := schemas.Origin{File: r.File, Line: tc.Line, Offset: int64(n)}
		if rec, ok := fields["record"]; ok && len(fields) == 1 {
			raw, err := json.Marshal(normalizeForJSON(rec))
			if err != nil {
				return nil, fmt.Errorf("event %d: record: %v", n+1, err)
			}
			if dec == nil {
				if dec, err = schemas.NewDecoder(schemas.DefaultConfig()); err != nil {
					return nil, err
				}
			}
			var derr error
			dec.Decode(raw, origin, func(rr schemas.Record) {
				switch rr.Status {
				case schemas.StatusEvent:
					out = append(out, rr.Event)
				case schemas.StatusMalformed:
					derr = fmt.Errorf("event %d: record: %v", n+1, rr.Err)
				}
			})
			if derr != nil {
				return nil, derr
			}
			continue
		}
		e, err := schemas.EventFromFields(fields)
		if err != nil {
			return nil, fmt.Errorf("event %d: %v", n+1, err)
		}
		if e.ID == "" {
			e.ID = fmt.Sprintf("%s-t%d-e%d", r.ID, ci+1, n+1)
		}
		e.Origin = origin
		out = append(out, e)
	}
	return out, nil
}

// expandRepeats expands test events carrying `_repeat: {count: N, every:
// 5s}` into N events, the k-th with @timestamp moved by k×every and
// event.id suffixed with -k, so a burst needs one line.
func expandRepeats(events []map[string]any) ([]map[string]any, error) {
	var out []map[string]any
	for n, fields := range events {
		rep, ok := fields["_repeat"]
		if !ok {
			out = append(out, fields)
			continue
		}
		spec, _ := normalizeForJSON(rep).(map[string]any)
		count, _ := spec["count"].(int)
		every, err := rules.ParseDuration(fmt.Sprint(spec["every"]))
		if err != nil || count < 1 || len(spec) != 2 {
			return nil, fmt.Errorf("event %d: _repeat: want {count: N, every: DURATION}", n+1)
		}
		ts, err := time.Parse(time.RFC3339Nano, fmt.Sprint(fields["@timestamp"]))
		if err != nil {
			return nil, fmt.Errorf("event %d: _repeat needs an RFC 3339 @timestamp: %v", n+1, err)
		}
		for k := 0; k < count; k++ {
			f := make(map[string]any, len(fields))
			for key, v := range fields {
				if key != "_repeat" {
					f[key] = v
				}
			}
			f["@timestamp"] = ts.Add(time.Duration(k) * every).Format(time.RFC3339Nano)
			if id, ok := f["event.id"]; ok {
				f["event.id"] = fmt.Sprintf("%v-%d", id, k)
			}
			out = append(out, f)
		}
	}
	return out, nil
}

// normalizeForJSON makes YAML-decoded values encodable as JSON.
func normalizeForJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = normalizeForJSON(e)
		}
		return m
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = normalizeForJSON(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = normalizeForJSON(e)
		}
		return l
	}
	return v
}

func runEvents(r *rules.Rule, cfg Config, events []*schemas.Event) ([]*schemas.Alert, error) {
	var alerts []*schemas.Alert
	en, err := New([]*rules.Rule{r}, state.NewMemory(), cfg, func(a *schemas.Alert) { alerts = append(alerts, a) })
	if err != nil {
		return nil, err
	}
	for _, e := range events {
		if err := en.Process(e); err != nil {
			return nil, err
		}
	}
	if err := en.Flush(); err != nil {
		return nil, err
	}
	return alerts, nil
}

// checkExpectations pairs each expectation with a distinct alert that meets
// it (trying every assignment, as cases are small) and reports what is left.
func checkExpectations(exp []rules.Expectation, alerts []*schemas.Alert) []string {
	if len(exp) != len(alerts) {
		return []string{fmt.Sprintf("want %d alert(s), got %d%s", len(exp), len(alerts), describeAlerts(alerts))}
	}
	used := make([]bool, len(alerts))
	var assign func(i int) bool
	assign = func(i int) bool {
		if i == len(exp) {
			return true
		}
		for j, a := range alerts {
			if !used[j] && len(mismatches(exp[i], a)) == 0 {
				used[j] = true
				if assign(i + 1) {
					return true
				}
				used[j] = false
			}
		}
		return false
	}
	if assign(0) {
		return nil
	}
	// Report, for each expectation, why the closest alert does not meet it.
	var out []string
	for i, e := range exp {
		var best []string
		for k, a := range alerts {
			if m := mismatches(e, a); k == 0 || len(m) < len(best) {
				best = m
			}
		}
		if len(best) > 0 {
			out = append(out, fmt.Sprintf("expect[%d]: closest alert has %s", i, strings.Join(best, "; ")))
		}
	}
	if len(out) == 0 {
		out = append(out, "each expectation is met by some alert, but not by distinct alerts"+describeAlerts(alerts))
	}
	return out
}

func describeAlerts(alerts []*schemas.Alert) string {
	if len(alerts) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(":")
	for _, a := range alerts {
		fmt.Fprintf(&b, "\n      - subject %q severity %s evidence %d suppressed_count %d: %s", a.Subject, a.Rule.Severity, a.EvidenceCount, a.SuppressedCount, a.Summary)
	}
	return b.String()
}

func mismatches(e rules.Expectation, a *schemas.Alert) []string {
	var m []string
	if e.Subject != "" && e.Subject != a.Subject {
		m = append(m, fmt.Sprintf("subject %q, want %q", a.Subject, e.Subject))
	}
	if e.Severity != "" && e.Severity != a.Rule.Severity {
		m = append(m, fmt.Sprintf("severity %s, want %s", a.Rule.Severity, e.Severity))
	}
	if e.Evidence != 0 && e.Evidence != a.EvidenceCount {
		m = append(m, fmt.Sprintf("evidence %d, want %d", a.EvidenceCount, e.Evidence))
	}
	if e.SuppressedOf != (a.SuppressionOf != "") {
		m = append(m, fmt.Sprintf("follow-up %v, want %v", a.SuppressionOf != "", e.SuppressedOf))
	}
	if e.SuppressedCnt != a.SuppressedCount {
		m = append(m, fmt.Sprintf("suppressed_count %d, want %d", a.SuppressedCount, e.SuppressedCnt))
	}
	if e.SummaryHas != "" && !strings.Contains(a.Summary, e.SummaryHas) {
		m = append(m, fmt.Sprintf("summary %q does not contain %q", a.Summary, e.SummaryHas))
	}
	if len(e.Data) > 0 {
		var data any
		raw, _ := json.Marshal(a)
		_ = json.Unmarshal(raw, &data)
		paths := make([]string, 0, len(e.Data))
		for p := range e.Data {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		for _, p := range paths {
			want := normalizeForJSON(e.Data[p])
			got, ok := lookupPath(data, p)
			if !ok {
				m = append(m, fmt.Sprintf("data.%s is absent, want %v", p, want))
				continue
			}
			if !sameJSON(got, want) {
				m = append(m, fmt.Sprintf("data.%s = %v, want %v", p, got, want))
			}
		}
	}
	return m
}

// lookupPath walks decoded JSON by a dotted path. Keys may themselves hold
// dots (evidence fields are named by ECS path), so at each object the
// longest key that prefixes the rest of the path wins; list elements are
// addressed by index.
func lookupPath(v any, path string) (any, bool) {
	for path != "" {
		switch x := v.(type) {
		case map[string]any:
			best := ""
			for k := range x {
				if (path == k || strings.HasPrefix(path, k+".")) && len(k) > len(best) {
					best = k
				}
			}
			if best == "" {
				return nil, false
			}
			v = x[best]
			path = strings.TrimPrefix(strings.TrimPrefix(path, best), ".")
		case []any:
			head, rest, _ := strings.Cut(path, ".")
			i, err := strconv.Atoi(head)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v, path = x[i], rest
		default:
			return nil, false
		}
	}
	return v, true
}

func sameJSON(a, b any) bool {
	ra, _ := json.Marshal(a)
	rb, _ := json.Marshal(b)
	var x, y any
	_ = json.Unmarshal(ra, &x)
	_ = json.Unmarshal(rb, &y)
	return reflect.DeepEqual(x, y)
}
