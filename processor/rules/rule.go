package rules

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/bedrockwatch/bedrockwatch/processor/eql"
	"github.com/bedrockwatch/bedrockwatch/schemas"
)

// Kinds of rule (SPEC §4).
const (
	KindEQL       = "eql"
	KindNewTerms  = "new_terms"
	KindThreshold = "threshold"
	KindOutlier   = "outlier"
	KindAggregate = "aggregate"
)

// Severities, lowest first.
var Severities = []string{"info", "low", "medium", "high", "critical"}

// Rule is one detection rule as written in its YAML file.
type Rule struct {
	ID             string   `yaml:"id"`
	Name           string   `yaml:"name"`
	Description    string   `yaml:"description"`
	Severity       string   `yaml:"severity"`
	RiskScore      int      `yaml:"risk_score"`
	Kind           string   `yaml:"kind"` // default eql
	Query          string   `yaml:"query"`
	Threat         []Threat `yaml:"threat"`
	References     []string `yaml:"references"`
	FalsePositives []string `yaml:"false_positives"`
	Tags           []string `yaml:"tags"`
	// Enabled defaults to true.
	Enabled *bool `yaml:"enabled"`
	// Suppress folds repeated alerts of one group into a follow-up.
	Suppress *Suppress `yaml:"suppress"`
	// Overrides raise or lower severity and risk score for events that meet
	// a condition; the first that matches wins.
	Overrides []Override `yaml:"overrides"`
	// IncludePrompt puts the (truncated, masked) prompt of the last
	// invocation-log event in the alert. Off by default: prompts are private.
	IncludePrompt bool `yaml:"include_prompt"`
	// EvidenceFields are extra fields copied into each evidence entry (for
	// example the training-data S3 URI of a customization job).
	EvidenceFields []string `yaml:"evidence_fields"`
	// Tests are the rule's own test cases, run by `bedrockwatch rules test`.
	Tests []TestCase `yaml:"tests"`

	// Stateful kinds (new_terms, threshold, outlier, aggregate) read their
	// settings from here; see their documentation in README.
	NewTerms  *NewTerms  `yaml:"new_terms"`
	GroupBy   []FieldRef `yaml:"group_by"`
	Window    Duration   `yaml:"window"`
	Threshold *Threshold `yaml:"threshold"`
	Outlier   *Outlier   `yaml:"outlier"`
	Aggregate *Aggregate `yaml:"aggregate"`

	// Set by the loader.
	File   string `yaml:"-"`
	Line   int    `yaml:"-"`
	Origin string `yaml:"-"` // "builtin" or the directory it was loaded from

	// Compiled forms, set by the loader once the rule is valid.
	Parsed    eql.Query          `yaml:"-"`
	Condition *eql.Predicate     `yaml:"-"` // event queries and stateful kinds
	Sequence  *eql.Sequence      `yaml:"-"` // sequences
	Compiled  []CompiledOverride `yaml:"-"`
}

// IsEnabled reports whether the rule runs.
func (r *Rule) IsEnabled() bool { return r.Enabled == nil || *r.Enabled }

// Threat is one mapping to a framework: MITRE ATT&CK, MITRE ATLAS or the
// OWASP Top 10 for LLM applications.
type Threat struct {
	Framework    string `yaml:"framework" json:"framework"`
	Tactic       *Ref   `yaml:"tactic" json:"tactic,omitempty"`
	Technique    *Ref   `yaml:"technique" json:"technique,omitempty"`
	Subtechnique *Ref   `yaml:"subtechnique" json:"subtechnique,omitempty"`
}

// Ref names an entry of a framework.
type Ref struct {
	ID   string `yaml:"id" json:"id"`
	Name string `yaml:"name" json:"name"`
}

// Suppress: the first match of a group alerts at once; later matches within
// For are counted, and when the period closes with a non-zero count one
// follow-up alert carries the count.
type Suppress struct {
	By  []string `yaml:"by"`
	For Duration `yaml:"for"`
}

// Override changes severity and risk score when When (an EQL condition) holds
// for the last triggering event.
type Override struct {
	When      string `yaml:"when"`
	Severity  string `yaml:"severity"`
	RiskScore int    `yaml:"risk_score"`
}

// CompiledOverride is an Override with its condition compiled.
type CompiledOverride struct {
	Override
	Match *eql.Predicate
}

// NewTerms configures a new_terms rule: alert the first time the combination
// of Fields is seen within HistoryWindow of event time.
type NewTerms struct {
	Fields        []FieldRef `yaml:"fields"`
	HistoryWindow Duration   `yaml:"history_window"`
}

// Threshold configures a threshold rule: Value events (or, with Cardinality,
// Value distinct values of that field) per group within Window.
type Threshold struct {
	Value       int    `yaml:"value"`
	Cardinality string `yaml:"cardinality"`

	// Distinct reads the Cardinality field; set by the loader.
	Distinct schemas.Getter `yaml:"-"`
}

// Outlier ops.
const (
	OpCount = "count"
	OpSum   = "sum"
	OpMax   = "max"
)

// Outlier configures an outlier rule: Value per group per Bucket against the
// mean and standard deviation of the previous Baseline of buckets.
type Outlier struct {
	Value    string   `yaml:"value"` // count | sum(X) | max(X), X a field or an EQL value such as length(F)
	Bucket   Duration `yaml:"bucket"`
	Baseline Duration `yaml:"baseline"`
	K        float64  `yaml:"k"`     // default 3
	Floor    float64  `yaml:"floor"` // the value must also reach this

	// Set by the loader.
	Op      string         `yaml:"-"` // OpCount, OpSum or OpMax
	Arg     schemas.Getter `yaml:"-"` // the value summed or maximised
	ArgExpr eql.Expr       `yaml:"-"` // what Arg was compiled from; nil for count
}

// Aggregate configures an aggregate rule: at the close of each tumbling
// window, one summary per group counting events per category.
type Aggregate struct {
	Categories []Category `yaml:"categories"`
}

// Category is one bucket of an aggregate: events matching When (an EQL
// condition). The first category that matches wins; events matching none
// count as "other".
type Category struct {
	Name string `yaml:"name"`
	When string `yaml:"when"`

	Match *eql.Predicate `yaml:"-"` // set by the loader
}

// OtherCategory counts the events of an aggregate that match no category.
const OtherCategory = "other"

// FieldRef names a field: written as a field name, or as a list of field
// names of which the first that is not null on an event is used (for example
// the session issuer ARN, else user.id).
type FieldRef struct {
	Names []string
	Get   schemas.Getter
}

// UnmarshalYAML reads a field name or a list of them.
func (f *FieldRef) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		f.Names = []string{n.Value}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: a field is a name or a list of names", c.Line)
			}
			f.Names = append(f.Names, c.Value)
		}
	default:
		return fmt.Errorf("line %d: a field is a name or a list of names", n.Line)
	}
	for _, name := range f.Names {
		if strings.TrimSpace(name) == "" {
			return fmt.Errorf("line %d: empty field name", n.Line)
		}
	}
	getters := make([]schemas.Getter, len(f.Names))
	for i, name := range f.Names {
		getters[i] = schemas.FieldGetter(name)
	}
	if len(getters) == 1 {
		f.Get = getters[0]
		return nil
	}
	f.Get = func(e *schemas.Event) schemas.Value {
		for _, g := range getters {
			if v := g(e); !v.IsNull() && v.Text() != "" {
				return v
			}
		}
		return schemas.Value{}
	}
	return nil
}

// String is the field name, or coalesce(a, b) for a list.
func (f FieldRef) String() string {
	if len(f.Names) == 1 {
		return f.Names[0]
	}
	return "coalesce(" + strings.Join(f.Names, ", ") + ")"
}

// TestCase is one of a rule's own tests: events in, alerts expected.
type TestCase struct {
	Name string `yaml:"name"`
	// Events are either normalised ECS fields ({"event.action": …}) or, under
	// the single key `record`, a raw input record in any supported shape.
	Events []map[string]any `yaml:"events"`
	// Expect lists the alerts, in any order; an empty list means none.
	Expect []Expectation `yaml:"expect"`
	// Arrival "as_listed" runs the events in the order given only; by default
	// they also run in reverse arrival order, which must give the same alerts.
	Arrival string `yaml:"arrival"`
	Line    int    `yaml:"-"`
}

// Expectation describes one expected alert; empty fields are not checked.
type Expectation struct {
	Subject       string         `yaml:"subject"`
	Severity      string         `yaml:"severity"`
	Evidence      int            `yaml:"evidence"`
	SuppressedOf  bool           `yaml:"followup"`
	SuppressedCnt int            `yaml:"suppressed_count"`
	SummaryHas    string         `yaml:"summary_contains"`
	Data          map[string]any `yaml:"data"` // dotted paths into the alert data
}

// Duration is a time.Duration written as 15m, 1h, 30d or 500ms.
type Duration time.Duration

var durationRE = regexp.MustCompile(`^([0-9]+)(ms|s|m|h|d)$`)

// ParseDuration reads 500ms, 30s, 15m, 1h or 14d.
func ParseDuration(s string) (time.Duration, error) {
	m := durationRE.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("duration %q: want a whole number and a unit ms, s, m, h or d (e.g. 15m, 14d)", s)
	}
	var n int64
	fmt.Sscan(m[1], &n)
	unit := map[string]time.Duration{"ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour}[m[2]]
	return time.Duration(n) * unit, nil
}

// UnmarshalText implements encoding.TextUnmarshaler (YAML scalars).
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	*d = Duration(v)
	return err
}

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
