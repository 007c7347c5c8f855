package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/bedrockwatch/bedrockwatch/processor/eql"
	"github.com/bedrockwatch/bedrockwatch/schemas"
)

// Problem is one error in a rule file, with its place.
type Problem struct {
	File string
	Line int // 1-based; 0 when unknown
	Col  int // 1-based; 0 when unknown
	Msg  string
}

func (p *Problem) Error() string {
	switch {
	case p.Line > 0 && p.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Col, p.Msg)
	case p.Line > 0:
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Msg)
}

// Problems lists the Problems in err (as returned by Load, LoadDir, Merge).
func Problems(err error) []*Problem {
	var out []*Problem
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		if p, ok := e.(*Problem); ok {
			out = append(out, p)
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		out = append(out, &Problem{Msg: e.Error()})
	}
	walk(err)
	return out
}

// IsRuleFile reports whether name is a rule file (.yaml or .yml).
func IsRuleFile(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".yaml" || ext == ".yml"
}

// LoadDir loads every rule file directly in dir (or below it) from the
// operating system's file system. See LoadFS.
func LoadDir(dir string) ([]*Rule, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("rules directory: %w", err)
	}
	rules, err := LoadFS(os.DirFS(dir), ".", dir)
	return rules, err
}

// LoadFS loads every .yaml/.yml file under root in fsys. It returns the rules
// that are valid and an error joining a *Problem for every problem found in
// any file, so a caller can report them all. label prefixes file names in
// problems and is recorded as each rule's Origin. Two files with the same id
// are a problem. Hidden entries (names starting with ".") are skipped: a
// Kubernetes ConfigMap mounted as a directory holds every file twice, once
// under "..data" and "..<timestamp>".
func LoadFS(fsys fs.FS, root, label string) ([]*Rule, error) {
	var files []string
	err := fs.WalkDir(fsys, root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != root && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if !d.IsDir() && IsRuleFile(path) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("rules: reading %s: %w", label, err)
	}
	sort.Strings(files)
	var (
		out  []*Rule
		errs []error
		seen = map[string]string{}
	)
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		name := filepath.Join(label, f)
		if err != nil {
			errs = append(errs, &Problem{File: name, Msg: err.Error()})
			continue
		}
		r, err := Parse(name, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if prev, dup := seen[r.ID]; dup {
			errs = append(errs, &Problem{File: name, Line: r.Line, Msg: fmt.Sprintf("rule id %q is also defined in %s", r.ID, prev)})
			continue
		}
		seen[r.ID] = name
		r.Origin = label
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}

// Merge returns base with each rule of extra added, or replacing the rule of
// base with the same id. The result is sorted by id.
func Merge(base, extra []*Rule) []*Rule {
	byID := map[string]*Rule{}
	for _, r := range base {
		byID[r.ID] = r
	}
	for _, r := range extra {
		byID[r.ID] = r
	}
	out := make([]*Rule, 0, len(byID))
	for _, r := range byID {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

var yamlLineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// Parse reads one rule file. Unknown keys are errors (a typo must not turn a
// setting off silently). The error joins a *Problem per problem found.
func Parse(file string, data []byte) (*Rule, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlProblems(file, err)
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) != 1 || root.Content[0].Kind != yaml.MappingNode {
		return nil, &Problem{File: file, Line: 1, Msg: "a rule file holds one YAML mapping (id, name, query, …)"}
	}
	doc := root.Content[0]
	var r Rule
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&r); err != nil {
		return nil, yamlProblems(file, err)
	}
	r.File, r.Line = file, doc.Line
	if tests := valueNode(doc, "tests"); tests != nil && tests.Kind == yaml.SequenceNode {
		for i, n := range tests.Content {
			if i < len(r.Tests) {
				r.Tests[i].Line = n.Line
			}
		}
	}
	v := validator{file: file, doc: doc, lines: strings.Split(string(data), "\n")}
	v.check(&r)
	if len(v.errs) > 0 {
		return nil, errors.Join(v.errs...)
	}
	return &r, nil
}

func yamlProblems(file string, err error) error {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	var errs []error
	for _, m := range msgs {
		p := &Problem{File: file, Msg: m}
		if sm := yamlLineRE.FindStringSubmatch(m); sm != nil {
			p.Line, _ = strconv.Atoi(sm[1])
			p.Msg = strings.Replace(sm[2], "not found in type rules.", "is not a rule key (in ", 1)
			if strings.Contains(p.Msg, "is not a rule key (in ") {
				p.Msg += ")"
			}
		}
		errs = append(errs, p)
	}
	return errors.Join(errs...)
}

// valueNode returns the value node of key in a mapping node, or nil.
func valueNode(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

type validator struct {
	file  string
	doc   *yaml.Node
	lines []string
	errs  []error
}

// at records a problem at the value of key (or at the rule when absent).
func (v *validator) at(key string, format string, args ...any) {
	line := v.doc.Line
	if n := valueNode(v.doc, key); n != nil {
		line = n.Line
	}
	v.errs = append(v.errs, &Problem{File: v.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

var idRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// The frameworks a threat mapping may name.
var frameworks = map[string]bool{"MITRE ATT&CK": true, "MITRE ATLAS": true, "OWASP LLM Top 10": true}

func (v *validator) check(r *Rule) {
	if r.ID == "" {
		v.at("id", "id is required")
	} else if !idRE.MatchString(r.ID) {
		v.at("id", "id %q must be kebab-case: lower-case letters and digits joined by '-'", r.ID)
	}
	if strings.TrimSpace(r.Name) == "" {
		v.at("name", "name is required")
	}
	if !validSeverity(r.Severity) {
		v.at("severity", "severity %q: want one of %s", r.Severity, strings.Join(Severities, ", "))
	}
	if r.RiskScore < 0 || r.RiskScore > 100 {
		v.at("risk_score", "risk_score %d: want 0 to 100", r.RiskScore)
	}
	for i, t := range r.Threat {
		if !frameworks[t.Framework] {
			v.at("threat", "threat[%d]: framework %q: want \"MITRE ATT&CK\", \"MITRE ATLAS\" or \"OWASP LLM Top 10\"", i, t.Framework)
		}
		if t.Tactic == nil && t.Technique == nil {
			v.at("threat", "threat[%d]: name a tactic or a technique", i)
		}
	}
	if r.Kind == "" {
		r.Kind = KindEQL
	}
	switch r.Kind {
	case KindEQL:
		v.compileEQL(r)
		for _, k := range []string{"new_terms", "group_by", "window", "threshold", "outlier", "aggregate"} {
			if valueNode(v.doc, k) != nil {
				v.at(k, "%s does not apply to an eql rule (set kind: to new_terms, threshold, outlier or aggregate)", k)
			}
		}
	case KindNewTerms, KindThreshold, KindOutlier, KindAggregate:
		v.checkStateful(r)
	default:
		v.at("kind", "kind %q: want eql, new_terms, threshold, outlier or aggregate", r.Kind)
	}
	if s := r.Suppress; s != nil {
		if len(s.By) == 0 {
			v.at("suppress", "suppress.by: name at least one field to group alerts by")
		}
		if s.For <= 0 {
			v.at("suppress", "suppress.for: give the suppression period (e.g. 1h)")
		}
	}
	for i, o := range r.Overrides {
		if !validSeverity(o.Severity) {
			v.at("overrides", "overrides[%d]: severity %q: want one of %s", i, o.Severity, strings.Join(Severities, ", "))
		}
		if o.RiskScore < 0 || o.RiskScore > 100 {
			v.at("overrides", "overrides[%d]: risk_score %d: want 0 to 100", i, o.RiskScore)
		}
		q, err := eql.Parse("any where " + o.When)
		if err != nil {
			v.at("overrides", "overrides[%d].when: %v", i, err)
			continue
		}
		eq, ok := q.(*eql.EventQuery)
		if !ok {
			v.at("overrides", "overrides[%d].when: a condition, not a sequence", i)
			continue
		}
		p, err := eql.CompileCondition(eq)
		if err != nil {
			v.at("overrides", "overrides[%d].when: %v", i, err)
			continue
		}
		r.Compiled = append(r.Compiled, CompiledOverride{Override: o, Match: p})
	}
	for i, tc := range r.Tests {
		if tc.Name == "" {
			v.errs = append(v.errs, &Problem{File: v.file, Line: tc.Line, Msg: fmt.Sprintf("tests[%d]: name is required", i)})
		}
		if len(tc.Events) == 0 {
			v.errs = append(v.errs, &Problem{File: v.file, Line: tc.Line, Msg: fmt.Sprintf("tests[%d] %q: give at least one event", i, tc.Name)})
		}
		if tc.Arrival != "" && tc.Arrival != "as_listed" {
			v.errs = append(v.errs, &Problem{File: v.file, Line: tc.Line, Msg: fmt.Sprintf("tests[%d] %q: arrival %q: want as_listed or nothing", i, tc.Name, tc.Arrival)})
		}
		for j, e := range tc.Expect {
			if e.Severity != "" && !validSeverity(e.Severity) {
				v.errs = append(v.errs, &Problem{File: v.file, Line: tc.Line, Msg: fmt.Sprintf("tests[%d].expect[%d]: severity %q is not a severity", i, j, e.Severity)})
			}
		}
	}
	for _, f := range r.EvidenceFields {
		if f == "" {
			v.at("evidence_fields", "evidence_fields: empty field name")
		}
	}
	_ = schemas.KnownFields // field names are open (SPEC §3): any path stays reachable
}

func validSeverity(s string) bool {
	for _, x := range Severities {
		if s == x {
			return true
		}
	}
	return false
}

// compileEQL parses and compiles the query of an eql rule, mapping EQL error
// positions to the rule file.
func (v *validator) compileEQL(r *Rule) {
	if strings.TrimSpace(r.Query) == "" {
		v.at("query", "query is required")
		return
	}
	q, err := eql.Parse(r.Query)
	if err != nil {
		v.eqlError(err)
		return
	}
	r.Parsed = q
	switch q := q.(type) {
	case *eql.EventQuery:
		r.Condition, err = eql.CompileCondition(q)
	case *eql.SequenceQuery:
		r.Sequence, err = eql.CompileSequence(q)
	default:
		err = fmt.Errorf("unsupported query type %T", q)
	}
	if err != nil {
		v.eqlError(err)
	}
}

// eqlError turns EQL errors into problems placed in the file: a query in a
// block scalar (query: |) starts on the line after the key.
func (v *validator) eqlError(err error) {
	n := valueNode(v.doc, "query")
	for _, e := range flatten(err) {
		var se *eql.SyntaxError
		if n != nil && errors.As(e, &se) {
			line, col := n.Line+se.Line-1, se.Col
			if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
				line++
				if line-1 < len(v.lines) {
					l := v.lines[line-1]
					col += len(l) - len(strings.TrimLeft(l, " "))
				}
			} else if se.Line == 1 {
				col += n.Column - 1
			}
			v.errs = append(v.errs, &Problem{File: v.file, Line: line, Col: col, Msg: "query: " + se.Msg})
			continue
		}
		v.at("query", "query: %v", e)
	}
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}
