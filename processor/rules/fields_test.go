package rules

import (
	"reflect"
	"testing"
)

// TestRuleFieldsCoverEveryPart: Fields lists a field named in each part of
// a rule that names fields, for every kind, in the documented order.
func TestRuleFieldsCoverEveryPart(t *testing.T) {
	const head = "id: r\nname: R\nseverity: low\n"
	for _, c := range []struct {
		name string
		yaml string
		want []string
	}{
		{"eql with overrides, suppress and evidence", `
query: process where q.cond
overrides:
  - {when: 'o.when', severity: high, risk_score: 70}
suppress: {by: [s.by], for: 1h}
evidence_fields: [ev.field]
`, []string{"q.cond", "event.category", "o.when", "s.by", "ev.field"}},
		{"sequence", `
query: |
  sequence by seq.by
    [any where step1.cond] by step1.by
    [any where step2.cond] by step2.by
  until [any where until.cond] by until.by
`, []string{"seq.by", "step1.by", "step2.by", "until.by", "step1.cond", "step2.cond", "until.cond"}},
		{"threshold", `
kind: threshold
query: q.cond == 1
group_by: [g.one, [g.two, g.three]]
window: 1h
threshold: {value: 2, cardinality: t.card}
overrides:
  - {when: 'o.when', severity: high, risk_score: 70}
`, []string{"q.cond", "o.when", "g.one", "g.two", "g.three", "t.card"}},
		{"new_terms", `
kind: new_terms
query: q.cond == 1
new_terms: {fields: [nt.one, [nt.two, nt.three]], history_window: 1d}
`, []string{"q.cond", "nt.one", "nt.two", "nt.three"}},
		{"outlier", `
kind: outlier
query: q.cond == 1
group_by: [g.one]
outlier: {value: max(length(o.arg) + o.arg2), bucket: 1h, baseline: 2h}
`, []string{"q.cond", "g.one", "o.arg", "o.arg2"}},
		{"aggregate", `
kind: aggregate
query: q.cond == 1
group_by: [g.one]
window: 1h
aggregate:
  categories:
    - {name: a, when: 'c.one == 1'}
    - {name: b, when: 'c.two == 1'}
`, []string{"q.cond", "g.one", "c.one", "c.two"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := Parse("r.yaml", []byte(head+c.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Fields(); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("Fields() = %q, want %q", got, c.want)
			}
		})
	}
}
