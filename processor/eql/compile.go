package eql

import (
	"errors"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"time"

	"github.com/bedrockwatch/bedrockwatch/schemas"
)

// Predicate is a compiled event query. It is immutable and safe for
// concurrent use by any number of goroutines.
type Predicate struct {
	query    *EventQuery
	category string         // folded; "" for any
	catGet   schemas.Getter // nil for any
	cond     pred
	dataset  string // see Dataset
	// rest is cond without its dataset conjunct, which Match tests as a
	// string comparison; nil when there is none, or nothing else
	// (onlyDataset).
	rest        pred
	onlyDataset bool
}

// Match reports whether e belongs to the query's category and satisfies its
// condition. A condition that evaluates to null (see the package
// documentation) does not match. Match does not allocate for the common
// operators on typed fields.
func (p *Predicate) Match(e *schemas.Event) bool {
	if p.rest == nil && !p.onlyDataset {
		return p.matchAll(e)
	}
	// The dataset conjunct holds exactly when the event's dataset is its
	// literal (data_stream.dataset reads e.Dataset, null when empty).
	if e.Dataset != p.dataset {
		return false
	}
	if p.catGet != nil && !categoryMatches(p.catGet(e), p.category) {
		return false
	}
	return p.onlyDataset || p.rest.test(e) == triYes
}

// matchAll is Match evaluating the whole condition.
func (p *Predicate) matchAll(e *schemas.Event) bool {
	if p.catGet != nil && !categoryMatches(p.catGet(e), p.category) {
		return false
	}
	return p.cond.test(e) == triYes
}

// Query returns the query p was compiled from.
func (p *Predicate) Query() *EventQuery { return p.query }

// Dataset returns the data_stream.dataset of every event p matches: the
// literal of a conjunct `data_stream.dataset == "…"` at the top level of the
// condition, or "" when it has none. Match is false for an event whose
// data_stream.dataset is another value or null, so a caller that knows an
// event's dataset may skip Match for it.
func (p *Predicate) Dataset() string { return p.dataset }

// datasetField is the field Dataset looks for.
const datasetField = "data_stream.dataset"

// datasetConjunct returns the literal of the first conjunct
// `data_stream.dataset == "literal"` (a non-empty string) of cond's top level,
// or "". Match needs every conjunct of a top-level and to be true, and such
// a conjunct is not true for any other value, nor for null. It also returns
// the top-level conjuncts (cond alone when it is no and) and the index of
// that one.
func datasetConjunct(cond Expr) (ds string, terms []Expr, at int) {
	terms = []Expr{cond}
	if l, ok := cond.(*Logical); ok && l.Op == OpAnd {
		terms = l.Terms
	}
	for i, t := range terms {
		c, ok := t.(*Compare)
		if !ok || c.Op != OpEq {
			continue
		}
		f, isField := c.Left.(*Field)
		lit, isLit := c.Right.(*Literal)
		if isField && isLit && f.Name == datasetField && lit.Value.Kind == schemas.String && lit.Value.Str != "" {
			return lit.Value.Str, terms, i
		}
	}
	return "", nil, -1
}

func categoryMatches(v schemas.Value, folded string) bool {
	switch v.Kind {
	case schemas.String:
		return v.Str == folded || strings.EqualFold(v.Str, folded)
	case schemas.List:
		for _, x := range v.List {
			if categoryMatches(x, folded) {
				return true
			}
		}
	}
	return false
}

// Sequence is a compiled sequence query: per step, the predicate an event must
// satisfy and the join keys that tie the steps together. It does not match
// events over time — the caller keeps the partial sequences — and, like
// Predicate, it is immutable and safe for concurrent use.
type Sequence struct {
	// MaxSpan bounds the event time between the first and the last step;
	// zero means unbounded.
	MaxSpan time.Duration
	// Steps has one entry per bracketed query, in order.
	Steps []CompiledStep
	// Until is the query that cancels a pending sequence, or nil.
	Until *CompiledStep

	dataset string // see Dataset
}

// Dataset returns the data_stream.dataset of every event a step or the until
// query of s matches: the one every step and until require (see
// Predicate.Dataset), or "" when one of them requires none or they differ.
func (s *Sequence) Dataset() string { return s.dataset }

// CompiledStep is one step of a Sequence.
type CompiledStep struct {
	Match *Predicate
	// Keys read the join keys: the sequence-level by fields followed by the
	// step's own by fields. Every step of a sequence has as many keys, and
	// events of different steps join when their keys are equal pairwise.
	Keys []schemas.Getter
	// KeyFields names Keys, for messages and alert group values.
	KeyFields []string
}

// Key returns the step's join key for e: the key values' texts (Value.Text),
// one value as itself and several length-prefixed ("3:abc5:defgh"), so that
// distinct tuples never collide. It reports ok=false when any key is null or
// absent — Elastic never joins on a null key, and such an event must not take
// part in the sequence — or is an object, which has no text to join on. A
// step without keys returns "", true. Key does not allocate for a single
// string key.
func (s *CompiledStep) Key(e *schemas.Event) (key string, ok bool) {
	switch len(s.Keys) {
	case 0:
		return "", true
	case 1:
		v := s.Keys[0](e)
		if !joinable(v) {
			return "", false
		}
		return v.Text(), true
	}
	var b []byte
	for _, k := range s.Keys {
		v := k(e)
		if !joinable(v) {
			return "", false
		}
		t := v.Text()
		b = strconv.AppendInt(b, int64(len(t)), 10)
		b = append(b, ':')
		b = append(b, t...)
	}
	return string(b), true
}

// joinable reports whether v can be a join key.
func joinable(v schemas.Value) bool { return !nullish(v) && v.Kind != schemas.Object }

// CompileCondition compiles an event query. Field paths are resolved once,
// through schemas.FieldGetter; literal lists become hash sets, wildcard
// patterns, regular expressions and CIDR blocks are compiled once. Errors are
// *SyntaxError values (joined when there are several) with the position of
// the offending node.
func CompileCondition(q *EventQuery) (*Predicate, error) {
	if q == nil || q.Cond == nil {
		return nil, errors.New("eql: nil query")
	}
	c := &compiler{}
	p := c.predicate(q)
	if err := c.err(); err != nil {
		return nil, err
	}
	return p, nil
}

// CompileSequence compiles every step of a sequence query (see
// CompileCondition) and resolves its join keys.
func CompileSequence(q *SequenceQuery) (*Sequence, error) {
	if q == nil {
		return nil, errors.New("eql: nil query")
	}
	if len(q.Steps) < 2 {
		return nil, errorAt(q.Pos, "a sequence needs at least two steps")
	}
	if err := checkJoinKeys(q); err != nil {
		return nil, err
	}
	c := &compiler{}
	s := &Sequence{MaxSpan: q.MaxSpan}
	for _, st := range q.Steps {
		s.Steps = append(s.Steps, c.step(q, st))
	}
	if q.Until != nil {
		u := c.step(q, q.Until)
		s.Until = &u
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	s.dataset = s.Steps[0].Match.Dataset()
	for _, st := range s.Steps[1:] {
		if st.Match.Dataset() != s.dataset {
			s.dataset = ""
		}
	}
	if s.Until != nil && s.Until.Match.Dataset() != s.dataset {
		s.dataset = ""
	}
	return s, nil
}

// CompileValue compiles a value expression, such as length(gen_ai.prompt), to
// a getter. The getter is safe for concurrent use; it returns a null Value
// where the expression is null.
func CompileValue(x Expr) (schemas.Getter, error) {
	if x == nil {
		return nil, errors.New("eql: nil expression")
	}
	c := &compiler{}
	v, _ := c.value(x)
	if err := c.err(); err != nil {
		return nil, err
	}
	return v.value, nil
}

// compiler turns an AST into evaluation nodes, collecting every error.
type compiler struct {
	errs []error
}

func (c *compiler) errorf(at Pos, format string, args ...any) {
	c.errs = append(c.errs, errorAt(at, format, args...))
}

func (c *compiler) err() error {
	switch len(c.errs) {
	case 0:
		return nil
	case 1:
		return c.errs[0]
	}
	return errors.Join(c.errs...)
}

func (c *compiler) predicate(q *EventQuery) *Predicate {
	p := &Predicate{query: q}
	var terms []Expr
	var at int
	if p.dataset, terms, at = datasetConjunct(q.Cond); p.dataset == "" {
		p.cond = c.cond(q.Cond)
	} else {
		// Each conjunct compiled once: cond is all of them, as compiling
		// q.Cond would give; rest the others than the dataset test.
		preds := make([]pred, len(terms))
		for i, t := range terms {
			preds[i] = c.cond(t)
		}
		rest := append(append([]pred(nil), preds[:at]...), preds[at+1:]...)
		switch p.cond = andPred(preds); len(rest) {
		case 0:
			p.onlyDataset = true
		case 1:
			p.rest = rest[0]
		default:
			p.rest = andPred(rest)
		}
	}
	if q.Category != AnyCategory {
		p.category = q.Category
		p.catGet = schemas.FieldGetter("event.category")
	}
	return p
}

func (c *compiler) step(q *SequenceQuery, st *Step) CompiledStep {
	cs := CompiledStep{Match: c.predicate(st.Query)}
	cs.KeyFields = append(append(cs.KeyFields, q.By...), st.By...)
	for _, f := range cs.KeyFields {
		cs.Keys = append(cs.Keys, schemas.FieldGetter(f))
	}
	return cs
}

// vtype is the static type of an expression, known for literals and
// function results, unknown (tAny) for fields.
type vtype uint8

const (
	tAny vtype = iota
	tBool
	tStr
	tNum
	tNull
)

func (t vtype) String() string {
	return [...]string{"any", "boolean", "string", "number", "null"}[t]
}

func literalType(v schemas.Value) vtype {
	switch v.Kind {
	case schemas.String:
		return tStr
	case schemas.Number:
		return tNum
	case schemas.Bool:
		return tBool
	}
	return tNull
}

func isField(x Expr) bool { _, ok := x.(*Field); return ok }

func isLiteral(x Expr) bool { _, ok := x.(*Literal); return ok }

// twoValued decides how a leaf predicate treats a null operand. A predicate
// on a bare field against literals is what Elasticsearch answers with an
// index query: a missing field simply does not match, and its negation
// matches. Anything else runs as a script in Elasticsearch, where null
// propagates. See the package documentation.
func nullResult(twoValued bool, negated bool) tri {
	switch {
	case !twoValued:
		return triNull
	case negated:
		return triYes
	}
	return triNo
}

// cond compiles a boolean expression.
func (c *compiler) cond(x Expr) pred {
	switch n := x.(type) {
	case *Literal:
		switch n.Value.Kind {
		case schemas.Bool:
			return constPred(boolTri(n.Value.Bool))
		case schemas.Null:
			return constPred(triNull)
		}
		c.errorf(n.Pos, "condition must be boolean, found %s %s", literalType(n.Value), n)
		return constPred(triNo)
	case *Field:
		return &subjectPred[isTrue]{src: fieldVal{schemas.FieldGetter(n.Name)}, onNull: triNo}
	case *Logical:
		terms := make([]pred, len(n.Terms))
		for i, t := range n.Terms {
			terms[i] = c.cond(t)
		}
		if n.Op == OpAnd {
			return andPred(terms)
		}
		return orPred(terms)
	case *Not:
		return &notPred{c.cond(n.X)}
	case *Compare:
		return c.compare(n)
	case *Match:
		return c.match(n)
	case *In:
		return c.in(n)
	case *Call:
		spec := c.function(n)
		if spec == nil {
			return constPred(triNo)
		}
		if spec.pred == nil {
			c.errorf(n.Pos, "condition must be boolean, found %s (a %s)", n, spec.ret)
			return constPred(triNo)
		}
		return spec.pred(c, n)
	case *Arith, *Neg:
		c.errorf(x.Position(), "condition must be boolean, found %s (a number)", x)
		return constPred(triNo)
	}
	c.errorf(x.Position(), "unsupported expression %s", x)
	return constPred(triNo)
}

// value compiles a value expression and returns its static type.
func (c *compiler) value(x Expr) (valuer, vtype) {
	switch n := x.(type) {
	case *Field:
		return fieldVal{schemas.FieldGetter(n.Name)}, tAny
	case *Literal:
		return constVal{n.Value}, literalType(n.Value)
	case *Call:
		spec := c.function(n)
		if spec == nil {
			return constVal{}, tAny
		}
		if spec.pred != nil {
			return predVal{spec.pred(c, n)}, tBool
		}
		return spec.val(c, n), spec.ret
	case *Arith:
		l := c.number(n.Left, n.Op.String())
		r := c.number(n.Right, n.Op.String())
		return &arithVal{op: n.Op, l: l, r: r, float: isFloatExpr(n)}, tNum
	case *Neg:
		return &negVal{c.number(n.X, "-")}, tNum
	}
	return predVal{c.cond(x)}, tBool
}

// function resolves a call, checking what Parse checks too, for trees built
// by hand.
func (c *compiler) function(n *Call) *funcSpec {
	spec, err := lookupFunction(n.Name, n.Insensitive, n.Pos)
	if err == nil {
		err = spec.checkArity(len(n.Args), n.Pos)
	}
	if err != nil {
		c.errs = append(c.errs, err)
		return nil
	}
	return spec
}

// number compiles an operand that must be a number.
func (c *compiler) number(x Expr, what string) valuer {
	v, t := c.value(x)
	if t != tAny && t != tNum && t != tNull {
		c.errorf(x.Position(), "%s needs numbers, found %s %s", what, t, x)
	}
	return v
}

// str compiles an operand that must be a string.
func (c *compiler) str(x Expr, what string) valuer {
	v, t := c.value(x)
	if t != tAny && t != tStr && t != tNull {
		c.errorf(x.Position(), "%s needs a string, found %s %s", what, t, x)
	}
	return v
}

// isFloatExpr reports whether a numeric expression is of float flavour: it
// involves a number literal written with a fraction or exponent.
func isFloatExpr(x Expr) bool {
	float := false
	Walk(x, func(n Expr) bool {
		if l, ok := n.(*Literal); ok && l.Float {
			float = true
		}
		return !float
	})
	return float
}

func (c *compiler) compare(n *Compare) pred {
	ln, lIsNull := n.Left.(*Literal)
	rn, rIsNull := n.Right.(*Literal)
	lIsNull = lIsNull && ln.Value.Kind == schemas.Null
	rIsNull = rIsNull && rn.Value.Kind == schemas.Null
	if lIsNull || rIsNull {
		if n.Op != OpEq && n.Op != OpNeq {
			c.errorf(n.Pos, "only == and != can compare with null, found %s", n.Op)
			return constPred(triNo)
		}
		other := n.Left
		if lIsNull {
			other = n.Right
		}
		v, _ := c.value(other)
		return &isNullPred{v: v, want: n.Op == OpEq}
	}
	two := isField(n.Left) && isLiteral(n.Right) || isLiteral(n.Left) && isField(n.Right)
	onNull := nullResult(two, n.Op == OpNeq)
	if f, ok := n.Left.(*Field); ok && (n.Op == OpEq || n.Op == OpNeq) {
		if lit, ok := n.Right.(*Literal); ok && lit.Value.Kind == schemas.String {
			return &fieldEqStr{get: schemas.FieldGetter(f.Name), lit: lit.Value, neq: n.Op == OpNeq, onNull: onNull}
		}
	}
	l, lt := c.value(n.Left)
	r, rt := c.value(n.Right)
	if n.Op != OpEq && n.Op != OpNeq && (lt == tBool || rt == tBool) {
		c.errorf(n.Pos, "%s cannot order booleans", n.Op)
	}
	return &comparePred{op: n.Op, l: l, r: r, onNull: onNull}
}

// match compiles `x : p`, like, like~, regex and regex~.
func (c *compiler) match(n *Match) pred {
	subj, _ := c.value(n.Left)
	fold := n.Op == MatchSeq || n.Op == MatchLikeI || n.Op == MatchRegexI
	m := newMatcher(fold)
	for _, p := range n.Patterns {
		if p.Value.Kind != schemas.String {
			if n.Op != MatchSeq {
				c.errorf(p.Pos, "%s needs string patterns, found %s", n.Op, p)
				continue
			}
			m.addLiteral(p.Value, false)
			continue
		}
		switch n.Op {
		case MatchRegex, MatchRegexI:
			re, err := compileRegexFiltered(p.Value.Str, n.Op == MatchRegexI)
			if err != nil {
				c.errorf(p.Pos, "invalid regex %s: %v", p, err)
				continue
			}
			m.res = append(m.res, re)
		default:
			m.addPattern(p.Value.Str)
		}
	}
	m.gatherContains()
	return &matchPred{subj: subj, m: m, onNull: nullResult(isField(n.Left), false)}
}

// compileRegex compiles an RE2 pattern that must match the whole string, as
// Elastic's regex does. As in Lucene's regular expressions, `.` matches any
// character, newlines included: prompts and command lines span lines.
//
// A whole-string pattern usually begins or ends with `.*` ("contains X"). The
// compiled form drops such a leading or trailing `.*` together with the
// anchor on that side, which matches the same strings but lets RE2 search
// for X instead of walking `.*` across a long prompt.
func compileRegex(p string, fold bool) (*regexp.Regexp, error) {
	parts, err := compileRegexParts(p, fold)
	return parts.re, err
}

// compileRegexFiltered is compileRegex with the literal prefilter of the
// pattern and its matching at start literals (see regex).
func compileRegexFiltered(p string, fold bool) (*regex, error) {
	parts, err := compileRegexParts(p, fold)
	if err != nil {
		return nil, err
	}
	return newRegex(parts, fold)
}

// regexParts is a pattern compiled as compileRegex does, with its parts.
type regexParts struct {
	re     *regexp.Regexp
	parsed *syntax.Regexp // the pattern as written
	body   *syntax.Regexp // parsed without the leading and trailing .* dropped
	// head and tail are the anchors around body in re: "^" and "$", or ""
	// on a side where a .* was dropped.
	head, tail string
}

// compileRegexParts is compileRegex that also returns the parsed pattern
// and its parts.
func compileRegexParts(p string, fold bool) (regexParts, error) {
	if _, err := regexp.Compile(p); err != nil {
		return regexParts{}, err // report the error against the pattern as written
	}
	flags := syntax.Perl | syntax.DotNL
	if fold {
		flags |= syntax.FoldCase
	}
	tree, err := syntax.Parse(p, flags)
	if err != nil {
		return regexParts{}, err
	}
	parts := regexParts{parsed: tree, body: tree, head: "^", tail: "$"}
	if tree.Op == syntax.OpConcat && len(tree.Sub) >= 2 {
		subs := tree.Sub
		if isDotStar(subs[0]) {
			subs, parts.head = subs[1:], ""
		}
		if len(subs) > 0 && isDotStar(subs[len(subs)-1]) {
			subs, parts.tail = subs[:len(subs)-1], ""
		}
		parts.body = &syntax.Regexp{Op: syntax.OpConcat, Sub: subs, Flags: tree.Flags}
		if len(subs) == 0 {
			parts.body = &syntax.Regexp{Op: syntax.OpEmptyMatch}
		}
	}
	parts.re, err = regexp.Compile(parts.head + `(?:` + parts.body.String() + `)` + parts.tail)
	return parts, err
}

// isDotStar reports whether re is `.*` matching any character, newlines
// included.
func isDotStar(re *syntax.Regexp) bool {
	return re.Op == syntax.OpStar && len(re.Sub) == 1 && re.Sub[0].Op == syntax.OpAnyChar
}

// in compiles in, in~, not in and not in~.
func (c *compiler) in(n *In) pred {
	subj, _ := c.value(n.Left)
	m := newMatcher(n.Insensitive)
	var others []valuer
	allLiteral := true
	for _, x := range n.List {
		if lit, ok := x.(*Literal); ok {
			m.addLiteral(lit.Value, true)
			continue
		}
		allLiteral = false
		v, _ := c.value(x)
		others = append(others, v)
	}
	two := isField(n.Left) && allLiteral
	return &inPred{subj: subj, m: m, others: others, not: n.Not, onNull: nullResult(two, false)}
}
