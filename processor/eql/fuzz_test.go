package eql

import (
	"errors"
	"reflect"
	"testing"

	"github.com/bedrockwatch/bedrockwatch/schemas"
)

// FuzzParse checks that Parse never panics, that every error is a
// *SyntaxError with a valid position, that a parsed query prints to text that
// parses back to the same text, and that compiling and evaluating it never
// panics either.
func FuzzParse(f *testing.F) {
	for _, q := range roundTripCorpus {
		f.Add(q)
	}
	for _, q := range []string{
		"any where a == 1 | head 10", "sequence with maxspan=15 [any where true] [any where true]",
		"any where ?a", "any where `a``b` == \"\\u{1F600}\"", "sequence [any where a] ![any where b]",
		"any where cidrMatch(a, \"10.0.0.0/8\") and a regex~ \"x+\"",
		"any where a : \"*a*a*a*b\" and between(a, \"x\", \"y\", true) == \"\"",
	} {
		f.Add(q)
	}
	events := []*schemas.Event{bedrockEvent(), {}, {Dataset: schemas.DatasetEndpoint, Category: "process", Raw: []byte(`{"a":[1,"x",null,{"b":true}],"b":"10.0.0.1"}`)}}
	f.Fuzz(func(t *testing.T, src string) {
		q, err := Parse(src)
		if err != nil {
			checkSyntaxError(t, src, err)
			return
		}
		printed := q.String()
		if len(printed) <= MaxQueryBytes {
			q2, err := Parse(printed)
			if err != nil {
				t.Fatalf("%q printed as %q, which does not parse: %v", src, printed, err)
			}
			if again := q2.String(); again != printed {
				t.Fatalf("%q: String is not stable:\n%s\n%s", src, printed, again)
			}
			q1, _ := Parse(src) // a fresh tree: stripPositions mutates
			stripPositions(q1)
			stripPositions(q2)
			if !reflect.DeepEqual(q1, q2) {
				t.Fatalf("%q printed as %q parses to a different tree", src, printed)
			}
		}
		q.Fields()
		switch q := q.(type) {
		case *EventQuery:
			p, err := CompileCondition(q)
			if err != nil {
				checkSyntaxError(t, src, err)
				return
			}
			for _, e := range events {
				p.Match(e)
			}
		case *SequenceQuery:
			s, err := CompileSequence(q)
			if err != nil {
				checkSyntaxError(t, src, err)
				return
			}
			for _, st := range s.Steps {
				for _, e := range events {
					st.Match.Match(e)
					st.Key(e)
				}
			}
		}
	})
}

func checkSyntaxError(t *testing.T, src string, err error) {
	t.Helper()
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("%q: error %v is not a *SyntaxError", src, err)
	}
	if se.Line < 1 || se.Col < 1 || se.Msg == "" {
		t.Fatalf("%q: bad error %#v", src, se)
	}
}
