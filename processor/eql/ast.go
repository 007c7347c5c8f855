package eql

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bedrockwatch/bedrockwatch/schemas"
)

// Query is a parsed EQL query: an *EventQuery or a *SequenceQuery.
//
// A Query is a plain tree of values; other packages may inspect it (list the
// fields a rule reads, find its join keys). String prints it back as
// canonical EQL that Parse accepts and that parses to an equal tree.
type Query interface {
	// String prints the query as canonical EQL.
	String() string
	// Fields lists the fields the query reads, each once, in order of first
	// appearance: join keys, then condition fields. A category other than
	// any reads event.category, which is listed too.
	Fields() []string
	isQuery()
}

// AnyCategory is the category that matches every event.
const AnyCategory = "any"

// EventQuery is `CATEGORY where COND`. Category is AnyCategory or an event
// category name (process, network, "my-category") as written.
type EventQuery struct {
	Pos      Pos
	Category string
	Cond     Expr
}

// SequenceQuery is `sequence [by K…] [with maxspan=D] [Q] [by K…] … [until [Q]]`.
//
// By holds the sequence-level join keys, shared by every step. MaxSpan is zero
// when the query sets none. Steps has at least two entries; every step (and
// Until) has len(By)+len(step.By) join keys — Parse guarantees it.
type SequenceQuery struct {
	Pos     Pos
	By      []string
	MaxSpan time.Duration
	Steps   []*Step
	Until   *Step // nil without an until clause
}

// Step is one bracketed query of a sequence with its own join keys.
type Step struct {
	Pos   Pos
	Query *EventQuery
	By    []string
}

func (*EventQuery) isQuery()    {}
func (*SequenceQuery) isQuery() {}

// Expr is a node of a condition:
// *Field, *Literal, *Compare, *Match, *In, *Logical, *Not, *Call, *Arith or *Neg.
type Expr interface {
	// Position is where the node starts in the query text.
	Position() Pos
	// String prints the node as canonical EQL.
	String() string
	exprNode()
}

// Field reads an event field by its dotted ECS path, e.g. event.action.
type Field struct {
	Pos  Pos
	Name string
}

// Literal is a constant: Value.Kind is schemas.String, Number, Bool or Null.
// Float records that a number was written with a fraction or exponent (4.0,
// 1e3); it matters to divide, which truncates when both operands are integers.
type Literal struct {
	Pos   Pos
	Value schemas.Value
	Float bool
}

// CompareOp is a comparison operator.
type CompareOp uint8

// The comparison operators.
const (
	OpEq  CompareOp = iota // ==
	OpNeq                  // !=
	OpLt                   // <
	OpLe                   // <=
	OpGt                   // >
	OpGe                   // >=
)

var compareOpText = [...]string{OpEq: "==", OpNeq: "!=", OpLt: "<", OpLe: "<=", OpGt: ">", OpGe: ">="}

func (o CompareOp) String() string { return compareOpText[o] }

// Compare is `Left Op Right`.
type Compare struct {
	Pos         Pos
	Op          CompareOp
	Left, Right Expr
}

// MatchOp is a pattern operator.
type MatchOp uint8

// The pattern operators.
const (
	MatchSeq    MatchOp = iota // :      case-insensitive, * and ? wildcards
	MatchLike                  // like   case-sensitive wildcards
	MatchLikeI                 // like~  case-insensitive wildcards
	MatchRegex                 // regex  case-sensitive RE2, whole string
	MatchRegexI                // regex~ case-insensitive RE2, whole string
)

var matchOpText = [...]string{MatchSeq: ":", MatchLike: "like", MatchLikeI: "like~", MatchRegex: "regex", MatchRegexI: "regex~"}

func (o MatchOp) String() string { return matchOpText[o] }

// Match is `Left OP "pattern"` or `Left OP ("p1", "p2", …)`: true when Left
// matches any of the patterns.
type Match struct {
	Pos      Pos
	Op       MatchOp
	Left     Expr
	Patterns []*Literal
}

// In is `Left in (…)`, `Left in~ (…)`, `Left not in (…)` or
// `Left not in~ (…)`.
type In struct {
	Pos         Pos
	Left        Expr
	List        []Expr
	Insensitive bool
	Not         bool
}

// LogicalOp is and or or.
type LogicalOp uint8

// The logical operators.
const (
	OpAnd LogicalOp = iota
	OpOr
)

func (o LogicalOp) String() string {
	if o == OpAnd {
		return "and"
	}
	return "or"
}

// Logical is `T1 and T2 and …` or `T1 or T2 or …` with at least two terms.
// Nested terms of the same operator are flattened by the parser.
type Logical struct {
	Pos   Pos
	Op    LogicalOp
	Terms []Expr
}

// Not is `not X`.
type Not struct {
	Pos Pos
	X   Expr
}

// Call is a function call. Name is the canonical spelling (startsWith);
// Insensitive is the ~ suffix (startsWith~).
type Call struct {
	Pos         Pos
	Name        string
	Insensitive bool
	Args        []Expr
}

// ArithOp is an arithmetic operator.
type ArithOp uint8

// The arithmetic operators.
const (
	OpAdd ArithOp = iota // +
	OpSub                // -
	OpMul                // *
	OpDiv                // /
	OpMod                // %
)

var arithOpText = [...]string{OpAdd: "+", OpSub: "-", OpMul: "*", OpDiv: "/", OpMod: "%"}

func (o ArithOp) String() string { return arithOpText[o] }

// Arith is `Left Op Right` on numbers.
type Arith struct {
	Pos         Pos
	Op          ArithOp
	Left, Right Expr
}

// Neg is `-X` where X is not a number literal (a negative literal is a
// Literal).
type Neg struct {
	Pos Pos
	X   Expr
}

func (x *Field) Position() Pos   { return x.Pos }
func (x *Literal) Position() Pos { return x.Pos }
func (x *Compare) Position() Pos { return x.Pos }
func (x *Match) Position() Pos   { return x.Pos }
func (x *In) Position() Pos      { return x.Pos }
func (x *Logical) Position() Pos { return x.Pos }
func (x *Not) Position() Pos     { return x.Pos }
func (x *Call) Position() Pos    { return x.Pos }
func (x *Arith) Position() Pos   { return x.Pos }
func (x *Neg) Position() Pos     { return x.Pos }

func (*Field) exprNode()   {}
func (*Literal) exprNode() {}
func (*Compare) exprNode() {}
func (*Match) exprNode()   {}
func (*In) exprNode()      {}
func (*Logical) exprNode() {}
func (*Not) exprNode()     {}
func (*Call) exprNode()    {}
func (*Arith) exprNode()   {}
func (*Neg) exprNode()     {}

// Walk calls fn for x and, when fn returns true, for each of its children,
// depth first in source order.
func Walk(x Expr, fn func(Expr) bool) {
	if x == nil || !fn(x) {
		return
	}
	switch n := x.(type) {
	case *Compare:
		Walk(n.Left, fn)
		Walk(n.Right, fn)
	case *Match:
		Walk(n.Left, fn)
		for _, p := range n.Patterns {
			Walk(p, fn)
		}
	case *In:
		Walk(n.Left, fn)
		for _, e := range n.List {
			Walk(e, fn)
		}
	case *Logical:
		for _, t := range n.Terms {
			Walk(t, fn)
		}
	case *Not:
		Walk(n.X, fn)
	case *Call:
		for _, a := range n.Args {
			Walk(a, fn)
		}
	case *Arith:
		Walk(n.Left, fn)
		Walk(n.Right, fn)
	case *Neg:
		Walk(n.X, fn)
	}
}

// fieldSet collects field names once each, in order.
type fieldSet struct {
	seen  map[string]bool
	names []string
}

func (s *fieldSet) add(name string) {
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	if !s.seen[name] {
		s.seen[name] = true
		s.names = append(s.names, name)
	}
}

func (s *fieldSet) addQuery(q *EventQuery) {
	for _, f := range ExprFields(q.Cond) {
		s.add(f)
	}
	if q.Category != AnyCategory {
		s.add("event.category")
	}
}

// ExprFields lists the fields x reads, each once, in order of first
// appearance.
func ExprFields(x Expr) []string {
	var s fieldSet
	Walk(x, func(n Expr) bool {
		if f, ok := n.(*Field); ok {
			s.add(f.Name)
		}
		return true
	})
	return s.names
}

// Fields lists the fields the condition reads, and event.category when the
// category is not any.
func (q *EventQuery) Fields() []string {
	var s fieldSet
	s.addQuery(q)
	return s.names
}

// Fields lists the join keys, then the fields every step reads.
func (q *SequenceQuery) Fields() []string {
	var s fieldSet
	for _, k := range q.By {
		s.add(k)
	}
	steps := q.Steps
	if q.Until != nil {
		steps = append(steps[:len(steps):len(steps)], q.Until)
	}
	for _, st := range steps {
		for _, k := range st.By {
			s.add(k)
		}
	}
	for _, st := range steps {
		s.addQuery(st.Query)
	}
	return s.names
}

// ---- printing ----

// Precedence levels, loosest first.
const (
	precOr = iota + 1
	precAnd
	precNot
	precCompare
	precAdd
	precMul
	precUnary
	precPrimary
)

func prec(x Expr) int {
	switch n := x.(type) {
	case *Logical:
		if n.Op == OpOr {
			return precOr
		}
		return precAnd
	case *Not:
		return precNot
	case *Compare, *Match, *In:
		return precCompare
	case *Arith:
		if n.Op == OpAdd || n.Op == OpSub {
			return precAdd
		}
		return precMul
	case *Neg:
		return precUnary
	case *Literal:
		if n.Value.Kind == schemas.Number && (n.Value.Num < 0 || n.Value.Num == 0 && strings.HasPrefix(formatNumber(n), "-")) {
			return precUnary // prints with a leading minus
		}
	}
	return precPrimary
}

// writeExpr prints x, in parentheses when it binds looser than min.
func writeExpr(b *strings.Builder, x Expr, min int) {
	if prec(x) < min {
		b.WriteByte('(')
		writeExpr(b, x, 0)
		b.WriteByte(')')
		return
	}
	switch n := x.(type) {
	case *Field:
		b.WriteString(quoteField(n.Name))
	case *Literal:
		writeLiteral(b, n)
	case *Compare:
		writeExpr(b, n.Left, precAdd)
		b.WriteString(" " + n.Op.String() + " ")
		writeExpr(b, n.Right, precAdd)
	case *Match:
		writeExpr(b, n.Left, precAdd)
		b.WriteString(" " + n.Op.String() + " ")
		if len(n.Patterns) == 1 {
			writeLiteral(b, n.Patterns[0])
			return
		}
		b.WriteByte('(')
		for i, p := range n.Patterns {
			if i > 0 {
				b.WriteString(", ")
			}
			writeLiteral(b, p)
		}
		b.WriteByte(')')
	case *In:
		writeExpr(b, n.Left, precAdd)
		switch {
		case n.Not && n.Insensitive:
			b.WriteString(" not in~ (")
		case n.Not:
			b.WriteString(" not in (")
		case n.Insensitive:
			b.WriteString(" in~ (")
		default:
			b.WriteString(" in (")
		}
		writeList(b, n.List)
		b.WriteByte(')')
	case *Logical:
		p := prec(n)
		for i, t := range n.Terms {
			if i > 0 {
				b.WriteString(" " + n.Op.String() + " ")
			}
			writeExpr(b, t, p+1)
		}
	case *Not:
		b.WriteString("not ")
		writeExpr(b, n.X, precNot)
	case *Call:
		b.WriteString(n.Name)
		if n.Insensitive {
			b.WriteByte('~')
		}
		b.WriteByte('(')
		writeList(b, n.Args)
		b.WriteByte(')')
	case *Arith:
		p := prec(n)
		writeExpr(b, n.Left, p)
		b.WriteString(" " + n.Op.String() + " ")
		writeExpr(b, n.Right, p+1)
	case *Neg:
		b.WriteByte('-')
		writeExpr(b, n.X, precUnary)
	}
}

func writeList(b *strings.Builder, xs []Expr) {
	for i, x := range xs {
		if i > 0 {
			b.WriteString(", ")
		}
		writeExpr(b, x, 0)
	}
}

func writeLiteral(b *strings.Builder, l *Literal) {
	switch l.Value.Kind {
	case schemas.String:
		b.WriteString(quoteString(l.Value.Str))
	case schemas.Number:
		b.WriteString(formatNumber(l))
	case schemas.Bool:
		b.WriteString(strconv.FormatBool(l.Value.Bool))
	default:
		b.WriteString("null")
	}
}

// formatNumber prints a number literal so that it lexes back to the same
// value and the same integer/float flavour.
func formatNumber(l *Literal) string {
	if !l.Float {
		return strconv.FormatFloat(l.Value.Num, 'f', -1, 64)
	}
	s := strconv.FormatFloat(l.Value.Num, 'g', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

func exprString(x Expr) string {
	var b strings.Builder
	writeExpr(&b, x, 0)
	return b.String()
}

func (x *Field) String() string   { return exprString(x) }
func (x *Literal) String() string { return exprString(x) }
func (x *Compare) String() string { return exprString(x) }
func (x *Match) String() string   { return exprString(x) }
func (x *In) String() string      { return exprString(x) }
func (x *Logical) String() string { return exprString(x) }
func (x *Not) String() string     { return exprString(x) }
func (x *Call) String() string    { return exprString(x) }
func (x *Arith) String() string   { return exprString(x) }
func (x *Neg) String() string     { return exprString(x) }

func (q *EventQuery) String() string {
	var b strings.Builder
	writeEventQuery(&b, q)
	return b.String()
}

func writeEventQuery(b *strings.Builder, q *EventQuery) {
	b.WriteString(quoteCategory(q.Category))
	b.WriteString(" where ")
	writeExpr(b, q.Cond, 0)
}

func (q *SequenceQuery) String() string {
	var b strings.Builder
	b.WriteString("sequence")
	if len(q.By) > 0 {
		b.WriteString(" by ")
		writeFields(&b, q.By)
	}
	if q.MaxSpan > 0 {
		b.WriteString(" with maxspan=")
		b.WriteString(formatSpan(q.MaxSpan))
	}
	for _, st := range q.Steps {
		b.WriteString("\n  ")
		writeStep(&b, st)
	}
	if q.Until != nil {
		b.WriteString("\nuntil ")
		writeStep(&b, q.Until)
	}
	return b.String()
}

func writeStep(b *strings.Builder, st *Step) {
	b.WriteByte('[')
	writeEventQuery(b, st.Query)
	b.WriteByte(']')
	if len(st.By) > 0 {
		b.WriteString(" by ")
		writeFields(b, st.By)
	}
}

func writeFields(b *strings.Builder, names []string) {
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quoteField(n))
	}
}

// spanUnits lists the maxspan units, largest first.
var spanUnits = []struct {
	name string
	d    time.Duration
}{
	{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond},
}

// formatSpan prints d in the largest unit that divides it.
func formatSpan(d time.Duration) string {
	for _, u := range spanUnits {
		if d%u.d == 0 {
			return strconv.FormatInt(int64(d/u.d), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(d/time.Millisecond), 10) + "ms" // not reachable from Parse
}

// keywords are the reserved words: a field or category spelled like one must
// be quoted.
var keywords = map[string]bool{
	"and": true, "any": true, "by": true, "false": true, "in": true, "in~": true,
	"join": true, "like": true, "like~": true, "not": true, "null": true, "of": true,
	"or": true, "regex": true, "regex~": true, "sample": true, "sequence": true,
	"true": true, "until": true, "where": true, "with": true,
}

// isPlainName reports whether s lexes as one plain (unquoted) dotted name.
func isPlainName(s string) bool {
	if s == "" || keywords[s] {
		return false
	}
	for _, seg := range strings.Split(s, ".") {
		if seg == "" || !isIdentStart(seg[0]) && !isDigit(seg[0]) {
			return false
		}
		for i := 0; i < len(seg); i++ {
			if !isIdentPart(seg[i]) {
				return false
			}
		}
	}
	return isIdentStart(s[0])
}

// quoteField prints a field name, back quoted when it is not a plain name.
func quoteField(name string) string {
	if isPlainName(name) {
		return name
	}
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// quoteCategory prints an event category: plain when it is an identifier,
// else as a string.
func quoteCategory(c string) string {
	if c == AnyCategory || isPlainName(c) && !strings.Contains(c, ".") {
		return c
	}
	return quoteString(c)
}

// quoteString prints s as a double-quoted EQL string.
func quoteString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 || r == 0x7f {
				b.WriteString(`\u{`)
				b.WriteString(strconv.FormatInt(int64(r)|0x100, 16)[1:])
				b.WriteByte('}')
				continue
			}
			var buf [utf8.UTFMax]byte
			b.Write(buf[:utf8.EncodeRune(buf[:], r)])
		}
	}
	b.WriteByte('"')
	return b.String()
}
