package eql

import (
	"math"
	"strconv"
	"strings"

	"github.com/bedrockwatch/bedrockwatch/schemas"
)

// tri is the result of a boolean node: no, yes or null (unknown).
type tri uint8

const (
	triNo tri = iota
	triYes
	triNull
)

func boolTri(b bool) tri {
	if b {
		return triYes
	}
	return triNo
}

func (t tri) not() tri {
	switch t {
	case triYes:
		return triNo
	case triNo:
		return triYes
	}
	return triNull
}

// pred is a compiled boolean expression. Implementations are immutable.
type pred interface {
	test(e *schemas.Event) tri
}

// valuer is a compiled value expression. Implementations are immutable.
type valuer interface {
	value(e *schemas.Event) schemas.Value
}

// nullish reports whether v is null: absent, JSON null, or an array holding
// nothing but nulls (Elasticsearch indexes such an array as a missing field).
func nullish(v schemas.Value) bool {
	switch v.Kind {
	case schemas.Null:
		return true
	case schemas.List:
		for _, x := range v.List {
			if !nullish(x) {
				return false
			}
		}
		return true
	}
	return false
}

// ---- logic ----

type constPred tri

func (p constPred) test(*schemas.Event) tri { return tri(p) }

// andPred and orPred are two-valued: a null term counts as not matching, as
// in an Elasticsearch bool query.
type andPred []pred

func (p andPred) test(e *schemas.Event) tri {
	for _, t := range p {
		if t.test(e) != triYes {
			return triNo
		}
	}
	return triYes
}

type orPred []pred

func (p orPred) test(e *schemas.Event) tri {
	for _, t := range p {
		if t.test(e) == triYes {
			return triYes
		}
	}
	return triNo
}

// notPred negates; not null is null.
type notPred struct{ x pred }

func (p *notPred) test(e *schemas.Event) tri { return p.x.test(e).not() }

// isTrue matches the boolean true: a boolean field used as a condition.
type isTrue struct{}

func (isTrue) matchScalar(v schemas.Value) bool { return v.Kind == schemas.Bool && v.Bool }

// scalarMatcher tests one non-list value.
type scalarMatcher interface {
	matchScalar(v schemas.Value) bool
}

// anyElement reports whether m matches v or, for a multi-valued v, any of its
// elements (nested arrays are flattened, as Elasticsearch indexes them).
func anyElement[M scalarMatcher](m M, v schemas.Value) bool {
	if v.Kind != schemas.List {
		return m.matchScalar(v)
	}
	for _, x := range v.List {
		if anyElement(m, x) {
			return true
		}
	}
	return false
}

// subjectPred applies a matcher to a subject: null gives onNull, otherwise
// whether any element matches.
type subjectPred[M scalarMatcher] struct {
	src    valuer
	m      M
	onNull tri
}

func (p *subjectPred[M]) test(e *schemas.Event) tri {
	v := p.src.value(e)
	if nullish(v) {
		return p.onNull
	}
	return boolTri(anyElement(p.m, v))
}

// isNullPred is `x == null` (want) or `x != null` (!want); it is two-valued.
type isNullPred struct {
	v    valuer
	want bool
}

func (p *isNullPred) test(e *schemas.Event) tri { return boolTri(nullish(p.v.value(e)) == p.want) }

// ---- values ----

type fieldVal struct{ get schemas.Getter }

func (v fieldVal) value(e *schemas.Event) schemas.Value { return v.get(e) }

type constVal struct{ v schemas.Value }

func (v constVal) value(*schemas.Event) schemas.Value { return v.v }

// predVal turns a boolean node into a value: true, false or null.
type predVal struct{ p pred }

func (v predVal) value(e *schemas.Event) schemas.Value {
	switch v.p.test(e) {
	case triYes:
		return schemas.BoolVal(true)
	case triNo:
		return schemas.BoolVal(false)
	}
	return schemas.Value{}
}

// single reduces a value for a function that takes one scalar: a list of one
// non-null element is that element; any other list is null.
func single(v schemas.Value) schemas.Value {
	if v.Kind != schemas.List {
		return v
	}
	var out schemas.Value
	n := 0
	for _, x := range v.List {
		if x = single(x); !x.IsNull() {
			out = x
			n++
		}
	}
	if n != 1 {
		return schemas.Value{}
	}
	return out
}

// ---- comparisons ----

// parseDecimal parses a decimal number as EQL writes it (optional sign,
// digits, optional fraction and exponent), rejecting what strconv accepts
// beyond that (hex, inf, nan, underscores).
func parseDecimal(s string) (float64, bool) {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for ; i < len(s) && isDigit(s[i]); i++ {
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for ; i < len(s) && isDigit(s[i]); i++ {
			digits++
		}
	}
	if digits == 0 {
		return 0, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for ; i < len(s) && isDigit(s[i]); i++ {
			exp++
		}
		if exp == 0 {
			return 0, false
		}
	}
	if i != len(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// equalScalar reports whether two non-null, non-list values are equal:
// strings byte for byte (or folded), numbers numerically, booleans by value; a
// number equals a string holding the same decimal number, and a boolean the
// string true or false, as Elasticsearch coerces a literal to the field's type.
// Objects equal nothing.
func equalScalar(l, r schemas.Value, fold bool) bool {
	switch {
	case l.Kind == schemas.String && r.Kind == schemas.String:
		if fold {
			return strings.EqualFold(l.Str, r.Str)
		}
		return l.Str == r.Str
	case l.Kind == schemas.Number && r.Kind == schemas.Number:
		return l.Num == r.Num
	case l.Kind == schemas.Bool && r.Kind == schemas.Bool:
		return l.Bool == r.Bool
	case l.Kind == schemas.String && r.Kind != schemas.String:
		l, r = r, l
	}
	if r.Kind != schemas.String {
		return false
	}
	switch l.Kind {
	case schemas.Number:
		f, ok := parseDecimal(r.Str)
		return ok && f == l.Num
	case schemas.Bool:
		s := strconv.FormatBool(l.Bool)
		return r.Str == s || fold && strings.EqualFold(r.Str, s)
	}
	return false
}

// orderScalar compares two non-null scalars: strings lexicographically by
// bytes (case-sensitive), numbers numerically, a number and a string holding a
// decimal number numerically. Other pairs are unordered (ok=false).
func orderScalar(l, r schemas.Value) (cmp int, ok bool) {
	switch {
	case l.Kind == schemas.String && r.Kind == schemas.String:
		return strings.Compare(l.Str, r.Str), true
	case l.Kind == schemas.Number && r.Kind == schemas.Number:
		return cmpFloat(l.Num, r.Num), true
	case l.Kind == schemas.Number && r.Kind == schemas.String:
		f, ok := parseDecimal(r.Str)
		return cmpFloat(l.Num, f), ok
	case l.Kind == schemas.String && r.Kind == schemas.Number:
		f, ok := parseDecimal(l.Str)
		return cmpFloat(f, r.Num), ok
	}
	return 0, false
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func holds(op CompareOp, cmp int) bool {
	switch op {
	case OpLt:
		return cmp < 0
	case OpLe:
		return cmp <= 0
	case OpGt:
		return cmp > 0
	case OpGe:
		return cmp >= 0
	}
	return false
}

// anyPair reports whether op holds for some element of l and some element of
// r (a scalar being its own only element), as Elasticsearch matches arrays.
func anyPair(l, r schemas.Value, op CompareOp, fold bool) bool {
	if l.Kind == schemas.List {
		for _, x := range l.List {
			if anyPair(x, r, op, fold) {
				return true
			}
		}
		return false
	}
	if r.Kind == schemas.List {
		for _, x := range r.List {
			if anyPair(l, x, op, fold) {
				return true
			}
		}
		return false
	}
	if l.IsNull() || r.IsNull() {
		return false
	}
	if op == OpEq {
		return equalScalar(l, r, fold)
	}
	cmp, ok := orderScalar(l, r)
	return ok && holds(op, cmp)
}

// comparePred is `l op r`. != is the negation of ==: with arrays, f != "x"
// holds when no element equals "x".
type comparePred struct {
	op     CompareOp
	l, r   valuer
	onNull tri
}

func (p *comparePred) test(e *schemas.Event) tri {
	l, r := p.l.value(e), p.r.value(e)
	if nullish(l) || nullish(r) {
		return p.onNull
	}
	if p.op == OpNeq {
		return boolTri(!anyPair(l, r, OpEq, false))
	}
	return boolTri(anyPair(l, r, p.op, false))
}

// fieldEqStr is the common `field == "literal"` (or !=), checked without
// copying the literal through a valuer.
type fieldEqStr struct {
	get    schemas.Getter
	lit    schemas.Value // a string
	neq    bool
	onNull tri
}

func (p *fieldEqStr) test(e *schemas.Event) tri {
	v := p.get(e)
	var eq bool
	switch {
	case v.Kind == schemas.String:
		eq = v.Str == p.lit.Str
	case nullish(v):
		return p.onNull
	default:
		eq = anyPair(v, p.lit, OpEq, false)
	}
	return boolTri(eq != p.neq)
}

// ---- pattern and list matching ----

// matcher tests one value against a compiled set of literals and patterns:
// the right-hand side of in, in~, :, like, like~, regex and regex~.
type matcher struct {
	fold  bool
	strs  map[string]struct{} // exact strings; folded when fold
	small []string            // the same strings while there are few: a scan beats hashing
	wild  []*wildcard
	res   []*regex
	// contains is the set of the folded wildcards of the form *text* (no
	// ?), searched for in one pass when there are many; those wildcards
	// are not in wild then. See containsSet.
	contains *containsSet
	nums     map[float64]numSource
	bools    [2]bool // bools[0]: false is listed; bools[1]: true is listed
	hasNull  bool    // null is listed: a null subject matches
}

// numSource records where a number in a matcher came from.
type numSource uint8

const (
	fromNumber numSource = 1 << iota // a number literal
	fromString                       // a string literal holding a decimal number
)

func newMatcher(fold bool) *matcher {
	return &matcher{fold: fold, strs: map[string]struct{}{}, nums: map[float64]numSource{}}
}

// addLiteral adds an exact value.
func (m *matcher) addLiteral(v schemas.Value, exactStrings bool) {
	switch v.Kind {
	case schemas.String:
		if exactStrings {
			m.addExact(v.Str)
		} else {
			m.addPattern(v.Str)
		}
	case schemas.Number:
		m.nums[v.Num] |= fromNumber
	case schemas.Bool:
		m.bools[boolIndex(v.Bool)] = true
	case schemas.Null:
		m.hasNull = true
	}
}

// addExact adds a string compared exactly (folded when the matcher folds).
func (m *matcher) addExact(s string) {
	if m.fold {
		s = foldString(s)
	}
	if _, dup := m.strs[s]; !dup {
		m.strs[s] = struct{}{}
		m.small = append(m.small, s)
	}
	if f, ok := parseDecimal(s); ok {
		m.nums[f] |= fromString
	}
	switch s {
	case "true", "false":
		m.bools[boolIndex(s == "true")] = true
	}
}

// addPattern adds a wildcard pattern; one without wildcards is exact.
func (m *matcher) addPattern(p string) {
	if !hasWildcards(p) {
		m.addExact(p)
		return
	}
	m.wild = append(m.wild, compileWildcard(p, m.fold))
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}

// matchValue reports whether v, or any element of it, matches.
func (m *matcher) matchValue(v schemas.Value) bool { return anyElement(m, v) }

func (m *matcher) matchScalar(v schemas.Value) bool {
	switch v.Kind {
	case schemas.String:
		return m.matchString(v.Str)
	case schemas.Number:
		if m.nums[v.Num] != 0 {
			return true
		}
		return m.hasPatterns() && m.matchPatterns(v.Text())
	case schemas.Bool:
		return m.bools[boolIndex(v.Bool)]
	}
	return false
}

func (m *matcher) hasPatterns() bool { return len(m.wild) > 0 || len(m.res) > 0 || m.contains != nil }

// smallSet is the list length up to which matchString scans instead of
// hashing.
const smallSet = 8

func (m *matcher) matchString(s string) bool {
	if m.hasExact(s) {
		return true
	}
	if m.matchPatterns(s) {
		return true
	}
	if len(m.nums) > 0 {
		if f, ok := parseDecimal(s); ok && m.nums[f]&fromNumber != 0 {
			return true
		}
	}
	return false
}

// hasExact reports whether s is one of the exact strings.
func (m *matcher) hasExact(s string) bool {
	switch {
	case len(m.small) > smallSet && m.fold:
		return foldSet(m.strs).has(s)
	case len(m.small) > smallSet:
		_, ok := m.strs[s]
		return ok
	case m.fold:
		for _, x := range m.small {
			if strings.EqualFold(s, x) {
				return true
			}
		}
	default:
		for _, x := range m.small {
			if s == x {
				return true
			}
		}
	}
	return false
}

func (m *matcher) matchPatterns(s string) bool {
	if !m.hasPatterns() {
		return false
	}
	if !m.fold && !m.anyRegexFolds() {
		for _, w := range m.wild {
			if w.match(s) {
				return true
			}
		}
		for _, re := range m.res {
			if re.match(s, "") {
				return true
			}
		}
		return false
	}
	// Case-insensitive. The set of *text* wildcards is searched in s
	// itself when it can be (a prompt is then not copied to be folded only
	// for it); the other patterns see s folded, once for all of them.
	unfolded := m.contains != nil && m.contains.ascii && !foldsOntoASCII(s)
	if unfolded {
		if m.contains.inUnfolded(s) {
			return true
		}
		if len(m.wild) == 0 && len(m.res) == 0 {
			return false
		}
	}
	return withFolded(s, func(folded string) bool {
		if m.contains != nil && !unfolded && m.contains.in(folded) {
			return true
		}
		for _, w := range m.wild {
			if w.fold {
				if w.matchWith(folded, false) {
					return true
				}
			} else if w.match(s) {
				return true
			}
		}
		for _, re := range m.res {
			if re.match(s, folded) {
				return true
			}
		}
		return false
	})
}

// anyRegexFolds reports whether a regex of m compares folded literals.
func (m *matcher) anyRegexFolds() bool {
	for _, re := range m.res {
		if re.needsFolded() {
			return true
		}
	}
	return false
}

// matchPred is `subject OP patterns` for :, like, like~, regex, regex~.
type matchPred struct {
	subj   valuer
	m      *matcher
	onNull tri
}

func (p *matchPred) test(e *schemas.Event) tri {
	v := p.subj.value(e)
	if nullish(v) {
		if p.m.hasNull {
			return triYes
		}
		return p.onNull
	}
	return boolTri(p.m.matchValue(v))
}

// inPred is `subject [not] in[~] (list)`: literal elements in a matcher,
// others evaluated per event.
type inPred struct {
	subj   valuer
	m      *matcher
	others []valuer
	not    bool
	onNull tri // the result of in (before not) for a null subject
}

func (p *inPred) test(e *schemas.Event) tri {
	r := p.in(e)
	if p.not {
		return r.not()
	}
	return r
}

func (p *inPred) in(e *schemas.Event) tri {
	v := p.subj.value(e)
	if nullish(v) {
		if p.m.hasNull {
			return triYes
		}
		return p.onNull
	}
	if p.m.matchValue(v) {
		return triYes
	}
	for _, o := range p.others {
		if ov := o.value(e); !nullish(ov) && anyPair(v, ov, OpEq, p.m.fold) {
			return triYes
		}
	}
	return triNo
}

// ---- arithmetic ----

// arithVal is `l op r`. Division truncates when both operands are whole
// numbers and no float literal is involved, as Elastic divides integers.
// A null or non-number operand, or a zero divisor, gives null.
type arithVal struct {
	op    ArithOp
	l, r  valuer
	float bool
}

func (a *arithVal) value(e *schemas.Event) schemas.Value {
	l, r := single(a.l.value(e)), single(a.r.value(e))
	if l.Kind != schemas.Number || r.Kind != schemas.Number {
		return schemas.Value{}
	}
	return arith(a.op, l.Num, r.Num, a.float)
}

func arith(op ArithOp, x, y float64, float bool) schemas.Value {
	var z float64
	switch op {
	case OpAdd:
		z = x + y
	case OpSub:
		z = x - y
	case OpMul:
		z = x * y
	case OpDiv:
		if y == 0 {
			return schemas.Value{}
		}
		z = x / y
		if !float && x == math.Trunc(x) && y == math.Trunc(y) {
			z = math.Trunc(z)
		}
	case OpMod:
		if y == 0 {
			return schemas.Value{}
		}
		z = math.Mod(x, y)
	}
	if math.IsInf(z, 0) || math.IsNaN(z) {
		return schemas.Value{}
	}
	return schemas.Num(z)
}

type negVal struct{ x valuer }

func (n *negVal) value(e *schemas.Event) schemas.Value {
	v := single(n.x.value(e))
	if v.Kind != schemas.Number {
		return schemas.Value{}
	}
	return schemas.Num(-v.Num)
}
