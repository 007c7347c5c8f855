package processor

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"

	"github.com/bedrockwatch/bedrockwatch/processor/eql"
	"github.com/bedrockwatch/bedrockwatch/processor/rules"
	"github.com/bedrockwatch/bedrockwatch/schemas"
)

// A Route is a set of rules whose state is keyed by the same fields. The
// service sends each event one of a route's rules may take to the partition
// of the route key's value, so that all the events of one group — for
// every rule of the route — meet on one partition, whatever the keying of
// the input topics (DESIGN "The flow", step 3).
//
// A rule's route key is what its state is kept by: the suppression fields
// when it suppresses (suppression state and the state of the groups it
// covers then live together), else its group — the sequence-level `by`
// fields, the new_terms fields, or group_by. A single-event rule without
// suppression has no state: its route key is the event id, which spreads
// the load.
type Route struct {
	// ID names the route in record headers and state keys: a short hash of
	// Fields, stable across restarts and replicas.
	ID string
	// Fields are the key fields ("event.id" for stateless rules).
	Fields []string
	// Rules are the enabled rules of the route.
	Rules []*rules.Rule

	keys   []schemas.Getter
	wants  []*eql.Predicate // nil entry: the rule takes every event
	anyEvt bool
}

// Routes groups the enabled rules of rs by route key, in a stable order.
func Routes(rs []*rules.Rule) []*Route {
	byFields := map[string]*Route{}
	var out []*Route
	for _, r := range rs {
		if !r.IsEnabled() {
			continue
		}
		fields, getters := routeKey(r)
		sig := strings.Join(fields, "\x00")
		rt := byFields[sig]
		if rt == nil {
			sum := sha256.Sum256([]byte(sig))
			rt = &Route{ID: hex.EncodeToString(sum[:4]), Fields: fields, keys: getters}
			byFields[sig] = rt
			out = append(out, rt)
		}
		rt.Rules = append(rt.Rules, r)
		preds := rulePredicates(r)
		if preds == nil {
			rt.anyEvt = true
		}
		rt.wants = append(rt.wants, preds...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Wants reports whether some rule of the route may take e: e matches the
// query of one of its rules, or a step or the until query of a sequence.
func (rt *Route) Wants(e *schemas.Event) bool {
	if rt.anyEvt {
		return true
	}
	for _, p := range rt.wants {
		if p.Match(e) {
			return true
		}
	}
	return false
}

// Key returns e's route key, or ok false when a key field is null or empty
// (no rule of the route keeps state for such an event; single-event rules
// route by event id and always have one).
func (rt *Route) Key(e *schemas.Event) (key string, ok bool) {
	if len(rt.keys) == 1 {
		v := rt.keys[0](e)
		if v.IsNull() || v.Text() == "" {
			return "", false
		}
		return v.Text(), true
	}
	parts := make([]string, len(rt.keys))
	for i, g := range rt.keys {
		v := g(e)
		if v.IsNull() || v.Text() == "" {
			return "", false
		}
		parts[i] = v.Text()
	}
	return schemas.JoinGroup(parts), true
}

// routeKey returns the fields a rule's state is kept by, and their getters.
func routeKey(r *rules.Rule) ([]string, []schemas.Getter) {
	if r.Suppress != nil && len(r.Suppress.By) > 0 {
		gs := make([]schemas.Getter, len(r.Suppress.By))
		for i, f := range r.Suppress.By {
			gs[i] = schemas.FieldGetter(f)
		}
		return append([]string(nil), r.Suppress.By...), gs
	}
	var refs []rules.FieldRef
	switch {
	case r.Sequence != nil:
		if sq, ok := r.Parsed.(*eql.SequenceQuery); ok && len(sq.By) > 0 {
			gs := make([]schemas.Getter, len(sq.By))
			for i, f := range sq.By {
				gs[i] = schemas.FieldGetter(f)
			}
			return append([]string(nil), sq.By...), gs
		}
		// A sequence joined only by per-step keys, or not at all: its
		// candidates must all meet on one partition.
		return []string{"(constant)"}, []schemas.Getter{constantKey}
	case r.Kind == rules.KindNewTerms:
		refs = r.NewTerms.Fields
	case len(r.GroupBy) > 0:
		refs = r.GroupBy
	default:
		return []string{"event.id"}, []schemas.Getter{schemas.FieldGetter("event.id")}
	}
	names := make([]string, len(refs))
	gs := make([]schemas.Getter, len(refs))
	for i, f := range refs {
		names[i], gs[i] = f.String(), f.Get
	}
	return names, gs
}

func constantKey(*schemas.Event) schemas.Value { return schemas.Str("all") }

// rulePredicates returns the conditions of which an event must match one to
// matter to r, or nil when every event matters.
func rulePredicates(r *rules.Rule) []*eql.Predicate {
	if r.Sequence != nil {
		var ps []*eql.Predicate
		for i := range r.Sequence.Steps {
			ps = append(ps, r.Sequence.Steps[i].Match)
		}
		if r.Sequence.Until != nil {
			ps = append(ps, r.Sequence.Until.Match)
		}
		return ps
	}
	if r.Condition != nil {
		return []*eql.Predicate{r.Condition}
	}
	return nil
}
