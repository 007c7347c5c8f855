package rules

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/bedrockwatch/bedrockwatch/processor/eql"
	"github.com/bedrockwatch/bedrockwatch/schemas"
)

// Limits of the stateful kinds, so that a rule cannot ask for unbounded
// state.
const (
	// MaxOutlierBuckets bounds baseline / bucket (30 days of hours is 720).
	MaxOutlierBuckets = 2000
	// MaxThresholdValue bounds a threshold's value: a group keeps up to
	// about twice that many event times.
	MaxThresholdValue = 10000
)

// nodeAt returns the node at a path of mapping keys below the rule, or nil.
func (v *validator) nodeAt(path ...string) *yaml.Node {
	n := v.doc
	for _, k := range path {
		n = valueNode(n, k)
		if n == nil {
			return nil
		}
	}
	return n
}

// atPath records a problem at the deepest node of path that exists.
func (v *validator) atPath(path []string, format string, args ...any) {
	line := v.doc.Line
	n := v.doc
	for _, k := range path {
		n = valueNode(n, k)
		if n == nil {
			break
		}
		line = n.Line
	}
	v.errs = append(v.errs, &Problem{File: v.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// eventQueryRE recognises a query written as an EQL event query (`any where
// …`); any other query of a stateful kind is a bare condition.
var eventQueryRE = regexp.MustCompile(`^\s*[a-zA-Z_][a-zA-Z0-9_]*\s+where\b`)

// compileStatefulQuery compiles the query of a stateful rule: an EQL event
// query or a bare condition.
func (v *validator) compileStatefulQuery(r *Rule) {
	if strings.TrimSpace(r.Query) == "" {
		v.at("query", "query is required")
		return
	}
	src, shift := r.Query, 0
	if !eventQueryRE.MatchString(src) {
		src, shift = "any where\n"+src, 1
	}
	q, err := eql.Parse(src)
	if err != nil {
		v.eqlErrorShift(err, shift)
		return
	}
	eq, ok := q.(*eql.EventQuery)
	if !ok {
		v.at("query", "query: a %s rule takes an event query or a condition, not a sequence", r.Kind)
		return
	}
	r.Parsed = q
	if r.Condition, err = eql.CompileCondition(eq); err != nil {
		v.eqlErrorShift(err, shift)
	}
}

// eqlErrorShift is eqlError for a query the validator prefixed with shift
// lines.
func (v *validator) eqlErrorShift(err error, shift int) {
	if shift == 0 {
		v.eqlError(err)
		return
	}
	var out []error
	for _, e := range flatten(err) {
		var se *eql.SyntaxError
		if errors.As(e, &se) && se.Line > shift {
			c := *se
			c.Line -= shift
			out = append(out, &c)
			continue
		}
		if errors.As(e, &se) {
			out = append(out, fmt.Errorf("%s", se.Msg))
			continue
		}
		out = append(out, e)
	}
	v.eqlError(errors.Join(out...))
}

// checkStateful validates and compiles a new_terms, threshold, outlier or
// aggregate rule.
func (v *validator) checkStateful(r *Rule) {
	v.compileStatefulQuery(r)
	// Keys that belong to other kinds are mistakes, not silently ignored.
	foreign := map[string]bool{
		"new_terms": r.NewTerms != nil && r.Kind != KindNewTerms,
		"threshold": r.Threshold != nil && r.Kind != KindThreshold,
		"outlier":   r.Outlier != nil && r.Kind != KindOutlier,
		"aggregate": r.Aggregate != nil && r.Kind != KindAggregate,
		"group_by":  len(r.GroupBy) > 0 && r.Kind == KindNewTerms,
		"window":    r.Window != 0 && (r.Kind == KindNewTerms || r.Kind == KindOutlier),
	}
	for _, k := range []string{"new_terms", "threshold", "outlier", "aggregate", "group_by", "window"} {
		if foreign[k] {
			v.at(k, "%s does not apply to kind %s", k, r.Kind)
		}
	}
	if r.Kind == KindOutlier || r.Kind == KindAggregate || r.Kind == KindNewTerms {
		// Their alerts are raised when the watermark closes a bucket, a
		// window or a first-seen decision, not by one event.
		if r.Suppress != nil {
			v.at("suppress", "suppress does not apply to kind %s: it raises at most one alert per group and %s", r.Kind,
				map[string]string{KindOutlier: "bucket", KindAggregate: "window", KindNewTerms: "new term"}[r.Kind])
		}
	}
	if (r.Kind == KindOutlier || r.Kind == KindAggregate) && len(r.Overrides) > 0 {
		v.at("overrides", "overrides do not apply to kind %s (its alert summarises many events)", r.Kind)
	}
	switch r.Kind {
	case KindNewTerms:
		v.checkNewTerms(r)
	case KindThreshold:
		v.checkGroupWindow(r)
		v.checkThreshold(r)
	case KindOutlier:
		v.checkGroupBy(r)
		v.checkOutlier(r)
	case KindAggregate:
		v.checkGroupWindow(r)
		v.checkAggregate(r)
	}
}

func (v *validator) checkNewTerms(r *Rule) {
	nt := r.NewTerms
	if nt == nil {
		v.at("kind", "a new_terms rule needs new_terms: {fields: [...], history_window: 14d}")
		return
	}
	if len(nt.Fields) == 0 {
		v.atPath([]string{"new_terms", "fields"}, "new_terms.fields: name at least one field")
	}
	if nt.HistoryWindow <= 0 {
		v.atPath([]string{"new_terms", "history_window"}, "new_terms.history_window: give how long terms are remembered (e.g. 14d)")
	}
}

func (v *validator) checkGroupBy(r *Rule) {
	if len(r.GroupBy) == 0 {
		v.at("group_by", "group_by: name at least one field to group by")
	}
}

func (v *validator) checkGroupWindow(r *Rule) {
	v.checkGroupBy(r)
	if r.Window <= 0 {
		v.at("window", "window: give the window of event time (e.g. 1m, 1h)")
	}
}

func (v *validator) checkThreshold(r *Rule) {
	t := r.Threshold
	if t == nil {
		v.at("kind", "a threshold rule needs threshold: {value: N} or {value: N, cardinality: FIELD}")
		return
	}
	if t.Value < 1 || t.Value > MaxThresholdValue {
		v.atPath([]string{"threshold", "value"}, "threshold.value %d: want 1 to %d", t.Value, MaxThresholdValue)
	}
	if t.Cardinality != "" {
		t.Distinct = schemas.FieldGetter(t.Cardinality)
	}
}

var outlierValueRE = regexp.MustCompile(`^\s*(sum|max)\s*\((.*)\)\s*$`)

func (v *validator) checkOutlier(r *Rule) {
	o := r.Outlier
	if o == nil {
		v.at("kind", "an outlier rule needs outlier: {value: count, bucket: 1h, baseline: 14d, k: 3, floor: N}")
		return
	}
	at := func(key, format string, args ...any) { v.atPath([]string{"outlier", key}, format, args...) }
	switch m := outlierValueRE.FindStringSubmatch(o.Value); {
	case strings.TrimSpace(o.Value) == OpCount:
		o.Op = OpCount
	case m != nil:
		o.Op = m[1]
		x, err := eql.ParseExpr(m[2])
		if err == nil {
			o.Arg, err = eql.CompileValue(x)
			o.ArgExpr = x
		}
		if err != nil {
			at("value", "outlier.value %q: %v", o.Value, err)
		}
	default:
		at("value", "outlier.value %q: want count, sum(FIELD), max(FIELD) or max(length(FIELD))", o.Value)
	}
	if o.Bucket <= 0 {
		at("bucket", "outlier.bucket: give the bucket length (e.g. 1h)")
	}
	if o.Baseline <= 0 {
		at("baseline", "outlier.baseline: give the baseline span (e.g. 14d)")
	}
	if o.Bucket > 0 && o.Baseline > 0 {
		if o.Baseline.D()%o.Bucket.D() != 0 {
			at("baseline", "outlier.baseline %s is not a whole number of buckets of %s", o.Baseline.D(), o.Bucket.D())
		} else if n := o.Baseline.D() / o.Bucket.D(); n < 2 || n > MaxOutlierBuckets {
			at("baseline", "outlier.baseline holds %d buckets: want 2 to %d", n, MaxOutlierBuckets)
		}
	}
	if v.nodeAt("outlier", "k") == nil {
		o.K = 3
	}
	if o.K < 0 {
		at("k", "outlier.k %g: must not be negative", o.K)
	}
	if o.Floor < 0 {
		at("floor", "outlier.floor %g: must not be negative", o.Floor)
	}
}

func (v *validator) checkAggregate(r *Rule) {
	a := r.Aggregate
	if a == nil {
		v.at("kind", "an aggregate rule needs aggregate: {categories: [{name: …, when: …}, …]}")
		return
	}
	seen := map[string]bool{OtherCategory: true}
	for i := range a.Categories {
		c := &a.Categories[i]
		at := func(format string, args ...any) {
			line := v.doc.Line
			if n := v.nodeAt("aggregate", "categories"); n != nil && n.Kind == yaml.SequenceNode && i < len(n.Content) {
				line = n.Content[i].Line
			}
			v.errs = append(v.errs, &Problem{File: v.file, Line: line, Msg: fmt.Sprintf(format, args...)})
		}
		if !idRE.MatchString(strings.ReplaceAll(c.Name, "_", "-")) {
			at("aggregate.categories[%d]: name %q: want lower-case letters, digits, '-' or '_'", i, c.Name)
		} else if seen[c.Name] {
			at("aggregate.categories[%d]: name %q is used twice (%q counts events matching no category)", i, c.Name, OtherCategory)
		}
		seen[c.Name] = true
		q, err := eql.Parse("any where " + c.When)
		var p *eql.Predicate
		if err == nil {
			if eq, ok := q.(*eql.EventQuery); ok {
				p, err = eql.CompileCondition(eq)
			} else {
				err = errors.New("a condition, not a sequence")
			}
		}
		if err != nil {
			at("aggregate.categories[%d] %q: when: %v", i, c.Name, err)
			continue
		}
		c.Match = p
	}
}
