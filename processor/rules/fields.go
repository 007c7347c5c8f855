package rules

import "github.com/bedrockwatch/bedrockwatch/processor/eql"

// Fields lists every field path r names, each once, in the order of the
// rule's parts: the query (its condition, the category test, the sequence
// join keys of every step and of until), the overrides' conditions,
// group_by, new_terms.fields (every name of a coalesced list),
// threshold.cardinality, the field expression of outlier.value, the
// conditions of aggregate.categories, suppress.by and evidence_fields.
//
// These are all the paths the engine resolves with schemas.FieldGetter for
// r, so a caller can decide from them what an Event must carry (see
// schemas.PathReadsRaw). A new part of a rule that names a field must be
// listed here. The compiled forms are read as well as the parsed query, so
// the list covers what runs; r should have been loaded by this package.
func (r *Rule) Fields() []string {
	var fs fieldList
	if r.Parsed != nil {
		fs.add(r.Parsed.Fields()...)
	}
	fs.predicate(r.Condition)
	if s := r.Sequence; s != nil {
		steps := s.Steps
		if s.Until != nil {
			steps = append(steps[:len(steps):len(steps)], *s.Until)
		}
		for _, st := range steps {
			fs.add(st.KeyFields...)
			fs.predicate(st.Match)
		}
	}
	for _, o := range r.Compiled {
		fs.predicate(o.Match)
	}
	for _, g := range r.GroupBy {
		fs.add(g.Names...)
	}
	if nt := r.NewTerms; nt != nil {
		for _, f := range nt.Fields {
			fs.add(f.Names...)
		}
	}
	if t := r.Threshold; t != nil && t.Cardinality != "" {
		fs.add(t.Cardinality)
	}
	if o := r.Outlier; o != nil && o.ArgExpr != nil {
		fs.add(eql.ExprFields(o.ArgExpr)...)
	}
	if a := r.Aggregate; a != nil {
		for _, c := range a.Categories {
			fs.predicate(c.Match)
		}
	}
	if s := r.Suppress; s != nil {
		fs.add(s.By...)
	}
	fs.add(r.EvidenceFields...)
	return fs.names
}

// fieldList collects names once each, in order.
type fieldList struct {
	seen  map[string]bool
	names []string
}

func (l *fieldList) add(names ...string) {
	for _, n := range names {
		if l.seen == nil {
			l.seen = map[string]bool{}
		}
		if !l.seen[n] {
			l.seen[n] = true
			l.names = append(l.names, n)
		}
	}
}

func (l *fieldList) predicate(p *eql.Predicate) {
	if p != nil && p.Query() != nil {
		l.add(p.Query().Fields()...)
	}
}
