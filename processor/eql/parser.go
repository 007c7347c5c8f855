package eql

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/bedrockwatch/bedrockwatch/schemas"
)

// MaxDepth bounds how deeply a condition may nest (parentheses, not, unary
// minus, function calls, arithmetic operators), so that a hostile or broken
// rule cannot exhaust the stack of the parser, compiler or evaluator.
const MaxDepth = 256

// Parse parses an EQL event query or sequence query.
//
// It accepts the subset of Elastic EQL described in the package
// documentation. Any other construct — pipes, sample, join, missing-event
// steps, with runs, optional fields, lineage — is an error that names it,
// never silently dropped. The error is a *SyntaxError with the line and column
// of the first problem.
//
// Parse checks function names and arities; types, regular expressions and
// CIDR blocks are checked by CompileCondition and CompileSequence.
func Parse(src string) (Query, error) {
	p, err := newParser(src)
	if err != nil {
		return nil, err
	}
	q, err := p.parseQuery()
	if err != nil {
		return nil, err
	}
	if err := p.expectEnd(); err != nil {
		return nil, err
	}
	return q, nil
}

// ParseExpr parses a bare condition or value expression, such as
// `event.action : "Invoke*" and event.outcome == "success"` or
// `length(gen_ai.prompt)`, for rule kinds that take a condition rather than a
// whole query.
func ParseExpr(src string) (Expr, error) {
	p, err := newParser(src)
	if err != nil {
		return nil, err
	}
	x, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	if err := p.expectEnd(); err != nil {
		return nil, err
	}
	return x, nil
}

type parser struct {
	toks  []token
	i     int
	depth int
}

func newParser(src string) (*parser, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	return &parser{toks: toks}, nil
}

func (p *parser) peek() token        { return p.toks[p.i] }
func (p *parser) peekAt(n int) token { return p.toks[min(p.i+n, len(p.toks)-1)] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

// isKeyword reports whether the next token is the keyword kw.
func (p *parser) isKeyword(kw string) bool {
	t := p.peek()
	return t.kind == tIdent && t.text == kw
}

func (p *parser) acceptKeyword(kw string) bool {
	if p.isKeyword(kw) {
		p.i++
		return true
	}
	return false
}

func (p *parser) expect(kind tokKind, context string) (token, error) {
	t := p.peek()
	if t.kind != kind {
		return t, p.unexpected(t, "expected "+tokNames[kind]+" "+context)
	}
	return p.next(), nil
}

// unexpected builds the error for token t, adding a hint for the mistakes
// that are easy to make.
func (p *parser) unexpected(t token, want string) error {
	msg := want + ", found " + t.describe()
	switch {
	case t.kind == tIdent && keywords[strings.ToLower(t.text)] && !keywords[t.text]:
		msg += " (keywords are lowercase: " + strings.ToLower(t.text) + ")"
	case t.kind == tAssign:
		msg = "= is not an operator: compare with == or :"
	case t.kind == tPipe:
		return p.pipeError(t)
	}
	return errorAt(t.pos, "%s", msg)
}

func (p *parser) pipeError(t token) error {
	name := ""
	if n := p.peekAt(1); n.kind == tIdent {
		name = " " + n.text
	}
	return errorAt(t.pos, "pipes (|%s) are not supported", name)
}

func (p *parser) expectEnd() error {
	if t := p.peek(); t.kind != tEOF {
		return p.unexpected(t, "expected end of query")
	}
	return nil
}

// enter counts one level of nesting; leave undoes it.
func (p *parser) enter(at Pos) error {
	p.depth++
	if p.depth > MaxDepth {
		return errorAt(at, "expression nested too deeply (the limit is %d levels)", MaxDepth)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

// ---- queries ----

func (p *parser) parseQuery() (Query, error) {
	t := p.peek()
	if t.kind == tIdent {
		switch t.text {
		case "sequence":
			return p.parseSequence()
		case "sample":
			return nil, errorAt(t.pos, "sample queries are not supported")
		case "join":
			return nil, errorAt(t.pos, "join queries are not supported")
		}
	}
	return p.parseEventQuery()
}

func (p *parser) parseEventQuery() (*EventQuery, error) {
	t := p.peek()
	var cat string
	switch {
	case t.kind == tIdent && t.text == AnyCategory:
		cat = AnyCategory
	case t.kind == tIdent && !keywords[t.text] && !strings.HasSuffix(t.text, "~"):
		cat = t.text
	case t.kind == tString:
		if t.text == "" {
			return nil, errorAt(t.pos, "empty event category")
		}
		cat = t.text
	case t.kind == tEOF:
		return nil, errorAt(t.pos, "empty query: expected an event category such as any or process, or sequence")
	default:
		return nil, p.unexpected(t, "expected an event category such as any or process")
	}
	p.next()
	if !p.acceptKeyword("where") {
		return nil, p.unexpected(p.peek(), "expected where after the event category")
	}
	cond, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	return &EventQuery{Pos: t.pos, Category: cat, Cond: cond}, nil
}

func (p *parser) parseSequence() (*SequenceQuery, error) {
	q := &SequenceQuery{Pos: p.next().pos}
	// Header: by and with, in either order, each at most once.
	seenBy, seenWith := false, false
	for {
		switch {
		case !seenBy && p.isKeyword("by"):
			p.next()
			keys, err := p.parseJoinKeys()
			if err != nil {
				return nil, err
			}
			q.By, seenBy = keys, true
			continue
		case !seenWith && p.isKeyword("with"):
			p.next()
			d, err := p.parseMaxSpan()
			if err != nil {
				return nil, err
			}
			q.MaxSpan, seenWith = d, true
			continue
		}
		break
	}
	for {
		t := p.peek()
		if t.kind == tBang {
			return nil, errorAt(t.pos, "missing-event steps (![…]) are not supported")
		}
		if t.kind != tLBrack {
			break
		}
		st, err := p.parseStep()
		if err != nil {
			return nil, err
		}
		q.Steps = append(q.Steps, st)
	}
	if len(q.Steps) < 2 {
		return nil, p.unexpected(p.peek(), "a sequence needs at least two [steps]: expected [")
	}
	if t := p.peek(); t.kind == tIdent && t.text == "until" {
		p.next()
		if n := p.peek(); n.kind != tLBrack {
			return nil, p.unexpected(n, "expected [ after until")
		}
		st, err := p.parseStep()
		if err != nil {
			return nil, err
		}
		q.Until = st
	}
	if err := checkJoinKeys(q); err != nil {
		return nil, err
	}
	return q, nil
}

// checkJoinKeys verifies that every step, and until, has as many join keys.
func checkJoinKeys(q *SequenceQuery) error {
	want := len(q.Steps[0].By)
	check := func(st *Step, name string) error {
		if len(st.By) != want {
			return errorAt(st.Pos, "every step of a sequence needs the same number of join keys: step 1 has %d, %s has %d",
				len(q.By)+want, name, len(q.By)+len(st.By))
		}
		return nil
	}
	for i, st := range q.Steps[1:] {
		if err := check(st, "step "+strconv.Itoa(i+2)); err != nil {
			return err
		}
	}
	if q.Until != nil {
		return check(q.Until, "until")
	}
	return nil
}

// parseMaxSpan parses `maxspan=N unit` after with.
func (p *parser) parseMaxSpan() (time.Duration, error) {
	t := p.peek()
	if t.kind != tIdent {
		return 0, p.unexpected(t, "expected maxspan after with")
	}
	switch t.text {
	case "maxspan":
	case "runs", "fork":
		return 0, errorAt(t.pos, "with %s= is not supported", t.text)
	default:
		return 0, p.unexpected(t, "expected maxspan after with")
	}
	p.next()
	if _, err := p.expect(tAssign, "after maxspan"); err != nil {
		return 0, err
	}
	num := p.peek()
	if num.kind != tNumber {
		return 0, p.unexpected(num, "expected a duration such as 15m after maxspan=")
	}
	p.next()
	n, err := strconv.ParseInt(num.text, 10, 64)
	if err != nil {
		return 0, errorAt(num.pos, "maxspan needs a whole number, found %s", num.text)
	}
	unit := p.peek()
	if unit.kind != tIdent || keywords[unit.text] {
		return 0, errorAt(unit.pos, "maxspan needs a unit (ms, s, m, h, d)")
	}
	var per time.Duration
	for _, u := range spanUnits {
		if u.name == unit.text {
			per = u.d
		}
	}
	if per == 0 {
		return 0, errorAt(unit.pos, "unknown maxspan unit %q: use ms, s, m, h or d", unit.text)
	}
	p.next()
	if n <= 0 {
		return 0, errorAt(num.pos, "maxspan must be positive")
	}
	if n > int64(math.MaxInt64/per) {
		return 0, errorAt(num.pos, "maxspan %s%s is too long", num.text, unit.text)
	}
	return time.Duration(n) * per, nil
}

// parseStep parses `[ QUERY ] [by KEYS]`.
func (p *parser) parseStep() (*Step, error) {
	open := p.next() // [
	t := p.peek()
	if t.kind == tIdent && (t.text == "sequence" || t.text == "sample" || t.text == "join") {
		return nil, errorAt(t.pos, "a %s cannot be a step of a sequence", t.text)
	}
	eq, err := p.parseEventQuery()
	if err != nil {
		return nil, err
	}
	if _, err := p.expect(tRBrack, "to close the step"); err != nil {
		return nil, err
	}
	st := &Step{Pos: open.pos, Query: eq}
	if p.acceptKeyword("by") {
		keys, err := p.parseJoinKeys()
		if err != nil {
			return nil, err
		}
		st.By = keys
	}
	if p.isKeyword("with") {
		w := p.next()
		if n := p.peek(); n.kind == tIdent && (n.text == "runs" || n.text == "fork") {
			return nil, errorAt(n.pos, "with %s= is not supported", n.text)
		}
		return nil, errorAt(w.pos, "with after a step is not supported (only the sequence takes with maxspan=…)")
	}
	return st, nil
}

// parseJoinKeys parses `FIELD, FIELD, …`.
func (p *parser) parseJoinKeys() ([]string, error) {
	var keys []string
	for {
		t := p.peek()
		switch {
		case t.kind == tOptional:
			return nil, errorAt(t.pos, "optional fields (?field) are not supported")
		case t.kind == tQuotedIdent || t.kind == tIdent && isFieldToken(t):
			keys = append(keys, t.text)
			p.next()
		default:
			return nil, p.unexpected(t, "expected a field name as join key")
		}
		if n := p.peek(); n.kind == tLParen {
			return nil, errorAt(t.pos, "join keys must be field names, not function calls")
		}
		if p.peek().kind != tComma {
			return keys, nil
		}
		p.next()
	}
}

// isFieldToken reports whether an identifier token can name a field.
func isFieldToken(t token) bool {
	return t.kind == tQuotedIdent || t.kind == tIdent && !keywords[t.text] && !strings.HasSuffix(t.text, "~")
}

// ---- expressions ----

func (p *parser) parseExpr() (Expr, error) { return p.parseOr() }

func (p *parser) parseOr() (Expr, error) { return p.parseLogical(OpOr) }

func (p *parser) parseAnd() (Expr, error) { return p.parseLogical(OpAnd) }

// parseLogical parses terms joined by op into one flat Logical.
func (p *parser) parseLogical(op LogicalOp) (Expr, error) {
	sub, kw := p.parseAnd, "or"
	if op == OpAnd {
		sub, kw = p.parseNot, "and"
	}
	first, err := sub()
	if err != nil {
		return nil, err
	}
	if !p.isKeyword(kw) {
		return first, nil
	}
	l := &Logical{Pos: first.Position(), Op: op}
	l.Terms = appendTerm(l.Terms, op, first)
	for p.acceptKeyword(kw) {
		t, err := sub()
		if err != nil {
			return nil, err
		}
		l.Terms = appendTerm(l.Terms, op, t)
	}
	return l, nil
}

// appendTerm appends t, splicing in the terms of a parenthesised Logical of
// the same operator: (a and b) and c is a and b and c.
func appendTerm(terms []Expr, op LogicalOp, t Expr) []Expr {
	if l, ok := t.(*Logical); ok && l.Op == op {
		return append(terms, l.Terms...)
	}
	return append(terms, t)
}

func (p *parser) parseNot() (Expr, error) {
	t := p.peek()
	if !p.isKeyword("not") {
		return p.parseComparison()
	}
	p.next()
	if err := p.enter(t.pos); err != nil {
		return nil, err
	}
	defer p.leave()
	x, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	return &Not{Pos: t.pos, X: x}, nil
}

var compareOps = map[tokKind]CompareOp{tEq: OpEq, tNeq: OpNeq, tLt: OpLt, tLe: OpLe, tGt: OpGt, tGe: OpGe}

var matchOps = map[string]MatchOp{"like": MatchLike, "like~": MatchLikeI, "regex": MatchRegex, "regex~": MatchRegexI}

// parseComparison parses a value optionally followed by one comparison,
// pattern match or lookup.
func (p *parser) parseComparison() (Expr, error) {
	left, err := p.parseAdditive()
	if err != nil {
		return nil, err
	}
	t := p.peek()
	var x Expr
	if op, ok := compareOps[t.kind]; ok {
		p.next()
		right, err := p.parseAdditive()
		if err != nil {
			return nil, err
		}
		x = &Compare{Pos: left.Position(), Op: op, Left: left, Right: right}
	} else if op, ok := p.matchOp(t); ok {
		p.next()
		x, err = p.parseMatch(left, op)
	} else if insensitive, not, ok := p.inOp(); ok {
		x, err = p.parseIn(left, insensitive, not)
	} else if t.kind == tAssign {
		return nil, p.unexpected(t, "")
	} else if n := p.peekAt(1); t.kind == tIdent && t.text == "not" && (n.kind == tColon || n.kind == tIdent && matchOps[n.text] != 0) {
		op, _ := p.matchOp(n)
		return nil, errorAt(t.pos, "not %s is not an operator: write not (%s %s …)", op, left, op)
	} else {
		return left, nil
	}
	if err != nil {
		return nil, err
	}
	if n := p.peek(); p.isComparisonStart(n) {
		return nil, errorAt(n.pos, "comparisons cannot be chained: combine them with and")
	}
	return x, nil
}

// matchOp recognises :, like, like~, regex and regex~.
func (p *parser) matchOp(t token) (MatchOp, bool) {
	if t.kind == tColon {
		return MatchSeq, true
	}
	if t.kind != tIdent {
		return 0, false
	}
	op, ok := matchOps[t.text]
	return op, ok
}

// inOp consumes in, in~, not in or not in~ if they come next.
func (p *parser) inOp() (insensitive, not, ok bool) {
	t := p.peek()
	if t.kind == tIdent && t.text == "not" {
		n := p.peekAt(1)
		if n.kind == tIdent && (n.text == "in" || n.text == "in~") {
			p.next()
			p.next()
			return n.text == "in~", true, true
		}
		return false, false, false
	}
	if t.kind == tIdent && (t.text == "in" || t.text == "in~") {
		p.next()
		return t.text == "in~", false, true
	}
	return false, false, false
}

func (p *parser) isComparisonStart(t token) bool {
	if _, ok := compareOps[t.kind]; ok {
		return true
	}
	if _, ok := p.matchOp(t); ok {
		return true
	}
	return t.kind == tIdent && (t.text == "in" || t.text == "in~")
}

// parseMatch parses the pattern or parenthesised pattern list after :, like,
// like~, regex or regex~. Patterns must be literals, as in Elastic.
func (p *parser) parseMatch(left Expr, op MatchOp) (Expr, error) {
	m := &Match{Pos: left.Position(), Op: op, Left: left}
	if p.peek().kind != tLParen {
		lit, err := p.parsePatternLiteral(op)
		if err != nil {
			return nil, err
		}
		m.Patterns = []*Literal{lit}
		return m, nil
	}
	p.next()
	for {
		lit, err := p.parsePatternLiteral(op)
		if err != nil {
			return nil, err
		}
		m.Patterns = append(m.Patterns, lit)
		if p.peek().kind != tComma {
			break
		}
		p.next()
	}
	if _, err := p.expect(tRParen, "to close the pattern list of "+op.String()); err != nil {
		return nil, err
	}
	return m, nil
}

func (p *parser) parsePatternLiteral(op MatchOp) (*Literal, error) {
	t := p.peek()
	x, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	lit, ok := x.(*Literal)
	if !ok {
		return nil, errorAt(t.pos, "%s needs literal patterns, found %s", op, x)
	}
	return lit, nil
}

// parseIn parses `( expr, … )` after in, in~, not in or not in~.
func (p *parser) parseIn(left Expr, insensitive, not bool) (Expr, error) {
	if _, err := p.expect(tLParen, "to open the list after in"); err != nil {
		return nil, err
	}
	in := &In{Pos: left.Position(), Left: left, Insensitive: insensitive, Not: not}
	list, err := p.parseList("the list after in")
	if err != nil {
		return nil, err
	}
	in.List = list
	return in, nil
}

// parseList parses `expr, expr, … )` — the ( already consumed.
func (p *parser) parseList(what string) ([]Expr, error) {
	var xs []Expr
	for {
		x, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		xs = append(xs, x)
		if p.peek().kind != tComma {
			break
		}
		p.next()
	}
	if _, err := p.expect(tRParen, "to close "+what); err != nil {
		return nil, err
	}
	return xs, nil
}

var addOps = map[tokKind]ArithOp{tPlus: OpAdd, tMinus: OpSub}
var mulOps = map[tokKind]ArithOp{tStar: OpMul, tSlash: OpDiv, tPercent: OpMod}

func (p *parser) parseAdditive() (Expr, error) { return p.parseArith(addOps, p.parseMultiplicative) }

func (p *parser) parseMultiplicative() (Expr, error) { return p.parseArith(mulOps, p.parseUnary) }

// parseArith parses a left-associative chain of the operators in ops. Each
// operator deepens the tree, so each counts against MaxDepth.
func (p *parser) parseArith(ops map[tokKind]ArithOp, sub func() (Expr, error)) (Expr, error) {
	left, err := sub()
	if err != nil {
		return nil, err
	}
	levels := 0
	defer func() { p.depth -= levels }()
	for {
		t := p.peek()
		op, ok := ops[t.kind]
		if !ok {
			return left, nil
		}
		p.next()
		if err := p.enter(t.pos); err != nil {
			return nil, err
		}
		levels++
		right, err := sub()
		if err != nil {
			return nil, err
		}
		left = &Arith{Pos: left.Position(), Op: op, Left: left, Right: right}
	}
}

func (p *parser) parseUnary() (Expr, error) {
	t := p.peek()
	if t.kind != tMinus && t.kind != tPlus {
		return p.parsePrimary()
	}
	p.next()
	if err := p.enter(t.pos); err != nil {
		return nil, err
	}
	defer p.leave()
	x, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	if t.kind == tPlus {
		return x, nil
	}
	if lit, ok := x.(*Literal); ok && lit.Value.Kind == schemas.Number {
		return &Literal{Pos: t.pos, Value: schemas.Num(-lit.Value.Num), Float: lit.Float}, nil
	}
	return &Neg{Pos: t.pos, X: x}, nil
}

func (p *parser) parsePrimary() (Expr, error) {
	t := p.peek()
	switch t.kind {
	case tLParen:
		p.next()
		if err := p.enter(t.pos); err != nil {
			return nil, err
		}
		defer p.leave()
		x, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tRParen, "to close ("); err != nil {
			return nil, err
		}
		return x, nil
	case tString:
		p.next()
		return &Literal{Pos: t.pos, Value: schemas.Str(t.text)}, nil
	case tNumber:
		p.next()
		return parseNumber(t)
	case tQuotedIdent:
		p.next()
		return p.finishField(t)
	case tOptional:
		return nil, errorAt(t.pos, "optional fields (?field) are not supported")
	case tIdent:
		return p.parseIdent()
	}
	return nil, p.unexpected(t, "expected a value")
}

func parseNumber(t token) (Expr, error) {
	f, err := strconv.ParseFloat(t.text, 64)
	if err != nil {
		return nil, errorAt(t.pos, "number %s is out of range", t.text)
	}
	float := strings.ContainsAny(t.text, ".eE")
	return &Literal{Pos: t.pos, Value: schemas.Num(f), Float: float}, nil
}

// parseIdent parses a keyword literal, a function call or a field.
func (p *parser) parseIdent() (Expr, error) {
	t := p.next()
	switch t.text {
	case "true", "false":
		return &Literal{Pos: t.pos, Value: schemas.BoolVal(t.text == "true")}, nil
	case "null":
		return &Literal{Pos: t.pos, Value: schemas.Value{}}, nil
	}
	if keywords[t.text] {
		return nil, p.unexpected(t, "expected a value")
	}
	if p.peek().kind == tLParen {
		return p.parseCall(t)
	}
	if n := p.peek(); n.kind == tIdent && n.text == "of" {
		return nil, errorAt(t.pos, "lineage (%s of […]) is not supported", t.text)
	}
	if !isFieldToken(t) {
		return nil, p.unexpected(t, "expected a value")
	}
	return p.finishField(t)
}

// finishField builds a field reference, rejecting array indexes.
func (p *parser) finishField(t token) (Expr, error) {
	if n := p.peek(); n.kind == tLBrack {
		return nil, errorAt(n.pos, "array indexes (%s[…]) are not supported", quoteField(t.text))
	}
	return &Field{Pos: t.pos, Name: t.text}, nil
}

// parseCall parses `name(args)` or `name~(args)`; the name token is consumed.
func (p *parser) parseCall(name token) (Expr, error) {
	base, insensitive := strings.CutSuffix(name.text, "~")
	spec, err := lookupFunction(base, insensitive, name.pos)
	if err != nil {
		return nil, err
	}
	open := p.next() // (
	if err := p.enter(open.pos); err != nil {
		return nil, err
	}
	defer p.leave()
	var args []Expr
	if p.peek().kind == tRParen {
		p.next()
	} else if args, err = p.parseList("the arguments of " + spec.name); err != nil {
		return nil, err
	}
	if err := spec.checkArity(len(args), name.pos); err != nil {
		return nil, err
	}
	return &Call{Pos: name.pos, Name: spec.name, Insensitive: insensitive, Args: args}, nil
}
