package eql

import (
	"math"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bedrockwatch/bedrockwatch/schemas"
)

// funcSpec describes one EQL function. Exactly one of pred (functions that
// return a boolean) and val is set.
type funcSpec struct {
	name     string // canonical spelling
	min, max int    // argument counts; max < 0 means no upper bound
	tilde    bool   // has a case-insensitive variant name~
	ret      vtype
	pred     func(c *compiler, n *Call) pred
	val      func(c *compiler, n *Call) valuer
}

// functions maps lower-case names to specs; names are resolved
// case-insensitively, as Elasticsearch resolves them.
var functions = map[string]*funcSpec{}

// unsupportedFunctions are functions of the original (Endgame) EQL that
// Elasticsearch does not implement either; naming them gives a clear error.
var unsupportedFunctions = map[string]string{
	"arraycontains": "arrayContains", "arraycount": "arrayCount", "arraysearch": "arraySearch",
	"match": "match", "matchlite": "matchLite", "safe": "safe",
}

func init() {
	for _, f := range []*funcSpec{
		{name: "startsWith", min: 2, max: -1, tilde: true, ret: tBool, pred: compileStrPred(opPrefix)},
		{name: "endsWith", min: 2, max: -1, tilde: true, ret: tBool, pred: compileStrPred(opSuffix)},
		{name: "stringContains", min: 2, max: -1, tilde: true, ret: tBool, pred: compileStrPred(opContains)},
		{name: "wildcard", min: 2, max: -1, tilde: true, ret: tBool, pred: compileWildcardPred},
		{name: "cidrMatch", min: 2, max: -1, ret: tBool, pred: compileCIDRPred},
		{name: "length", min: 1, max: 1, ret: tNum, val: compileLength},
		{name: "concat", min: 1, max: -1, ret: tStr, val: compileConcat},
		{name: "substring", min: 2, max: 3, ret: tStr, val: compileSubstring},
		{name: "number", min: 1, max: 2, ret: tNum, val: compileNumber},
		{name: "string", min: 1, max: 1, ret: tStr, val: compileString},
		{name: "indexOf", min: 2, max: 3, tilde: true, ret: tNum, val: compileIndexOf},
		{name: "between", min: 3, max: 4, tilde: true, ret: tStr, val: compileBetween},
		{name: "add", min: 2, max: 2, ret: tNum, val: compileArithFunc(OpAdd)},
		{name: "subtract", min: 2, max: 2, ret: tNum, val: compileArithFunc(OpSub)},
		{name: "multiply", min: 2, max: 2, ret: tNum, val: compileArithFunc(OpMul)},
		{name: "divide", min: 2, max: 2, ret: tNum, val: compileArithFunc(OpDiv)},
		{name: "modulo", min: 2, max: 2, ret: tNum, val: compileArithFunc(OpMod)},
	} {
		functions[strings.ToLower(f.name)] = f
	}
}

// lookupFunction resolves a function name as written (without ~).
func lookupFunction(name string, insensitive bool, at Pos) (*funcSpec, error) {
	lower := strings.ToLower(name)
	spec := functions[lower]
	if spec == nil {
		if canon, ok := unsupportedFunctions[lower]; ok {
			return nil, errorAt(at, "function %s is not supported", canon)
		}
		return nil, errorAt(at, "unknown function %s", name)
	}
	if insensitive && !spec.tilde {
		return nil, errorAt(at, "function %s has no case-insensitive variant %s~", spec.name, spec.name)
	}
	return spec, nil
}

func (f *funcSpec) checkArity(n int, at Pos) error {
	plural := func(k int) string {
		if k == 1 {
			return "1 argument"
		}
		return strconv.Itoa(k) + " arguments"
	}
	switch {
	case f.max < 0 && n < f.min:
		return errorAt(at, "%s needs at least %s, found %d", f.name, plural(f.min), n)
	case f.max >= 0 && (n < f.min || n > f.max) && f.min == f.max:
		return errorAt(at, "%s takes %s, found %d", f.name, plural(f.min), n)
	case f.max >= 0 && (n < f.min || n > f.max):
		return errorAt(at, "%s takes %d to %s, found %d", f.name, f.min, plural(f.max), n)
	}
	return nil
}

// literalArgs reports whether every argument after the first is a literal —
// with a bare field first, the call is two-valued (see nullResult).
func literalArgs(args []Expr) bool {
	for _, a := range args[1:] {
		if !isLiteral(a) {
			return false
		}
	}
	return true
}

// text renders a scalar for string functions: strings as they are, numbers
// and booleans as Value.Text; objects have no text.
func text(v schemas.Value) (string, bool) {
	switch v.Kind {
	case schemas.String:
		return v.Str, true
	case schemas.Number, schemas.Bool:
		return v.Text(), true
	}
	return "", false
}

// ---- startsWith, endsWith, stringContains ----

type strOp uint8

const (
	opPrefix strOp = iota
	opSuffix
	opContains
)

// strPred is startsWith, endsWith or stringContains (and their ~ variants):
// true when the source, or any element of it, has any of the substrings.
type strPred struct {
	op     strOp
	fold   bool
	src    valuer
	lits   []string // literal substrings, folded when fold
	dyn    []valuer // non-literal substrings
	onNull tri
}

func compileStrPred(op strOp) func(c *compiler, n *Call) pred {
	return func(c *compiler, n *Call) pred {
		p := &strPred{op: op, fold: n.Insensitive, src: c.str(n.Args[0], n.Name)}
		for _, a := range n.Args[1:] {
			if lit, ok := a.(*Literal); ok && lit.Value.Kind == schemas.String {
				s := lit.Value.Str
				if p.fold {
					s = foldString(s)
				}
				p.lits = append(p.lits, s)
				continue
			}
			p.dyn = append(p.dyn, c.str(a, n.Name))
		}
		p.onNull = nullResult(isField(n.Args[0]) && literalArgs(n.Args), false)
		return p
	}
}

func (p *strPred) test(e *schemas.Event) tri {
	v := p.src.value(e)
	if nullish(v) {
		return p.onNull
	}
	for _, l := range p.lits {
		if p.matchAny(v, l) {
			return triYes
		}
	}
	sawNull := false
	for _, d := range p.dyn {
		s, ok := text(single(d.value(e)))
		if !ok {
			sawNull = true
			continue
		}
		if p.fold {
			s = foldString(s)
		}
		if p.matchAny(v, s) {
			return triYes
		}
	}
	if sawNull {
		return triNull
	}
	return triNo
}

func (p *strPred) matchAny(v schemas.Value, sub string) bool {
	return anyElement(strProbe{p, sub}, v)
}

// strProbe tests scalars against one substring.
type strProbe struct {
	p   *strPred
	sub string
}

func (sp strProbe) matchScalar(v schemas.Value) bool {
	s, ok := text(v)
	return ok && sp.p.matchStr(s, sp.sub)
}

func (p *strPred) matchStr(s, sub string) bool {
	switch p.op {
	case opPrefix:
		if p.fold {
			return hasPrefixFold(s, sub)
		}
		return strings.HasPrefix(s, sub)
	case opSuffix:
		if p.fold {
			return hasSuffixFold(s, sub)
		}
		return strings.HasSuffix(s, sub)
	}
	if sub == "" {
		return false // stringContains(x, "") is false in Elastic
	}
	i, _ := index(s, sub, 0, p.fold)
	return i >= 0
}

// ---- wildcard ----

// wildcards is the pattern list of the wildcard function.
type wildcards []*wildcard

func compileWildcardPred(c *compiler, n *Call) pred {
	var ws wildcards
	for _, a := range n.Args[1:] {
		lit, ok := a.(*Literal)
		if !ok || lit.Value.Kind != schemas.String {
			c.errorf(a.Position(), "%s needs string literal patterns, found %s", n.Name, a)
			continue
		}
		ws = append(ws, compileWildcard(lit.Value.Str, n.Insensitive))
	}
	return &subjectPred[wildcards]{src: c.str(n.Args[0], n.Name), m: ws, onNull: nullResult(isField(n.Args[0]), false)}
}

func (ws wildcards) matchScalar(v schemas.Value) bool {
	s, ok := text(v)
	if !ok {
		return false
	}
	for _, w := range ws {
		if w.match(s) {
			return true
		}
	}
	return false
}

// ---- cidrMatch ----

// cidrBlocks is the block list of cidrMatch: it matches an address in any of
// the blocks. The address is read leniently, as source.ip arrives: IPv4
// octets with leading zeros are decimal (010.0.0.1 is 10.0.0.1), a
// comma-separated list matches when any address in it does, and IPv4-mapped
// IPv6 addresses match IPv4 blocks. A value that is not an address (a host
// name such as bedrock.amazonaws.com) does not match.
type cidrBlocks []netip.Prefix

func compileCIDRPred(c *compiler, n *Call) pred {
	var blocks cidrBlocks
	for _, a := range n.Args[1:] {
		lit, ok := a.(*Literal)
		if !ok || lit.Value.Kind != schemas.String {
			c.errorf(a.Position(), "cidrMatch needs string literal CIDR blocks, found %s", a)
			continue
		}
		pfx, err := parseCIDR(lit.Value.Str)
		if err != nil {
			c.errorf(a.Position(), "invalid CIDR block %s", lit)
			continue
		}
		blocks = append(blocks, pfx)
	}
	return &subjectPred[cidrBlocks]{src: c.str(n.Args[0], n.Name), m: blocks, onNull: nullResult(isField(n.Args[0]), false)}
}

// parseCIDR parses a block such as 10.0.0.0/8 or a bare address (a block of
// one address).
func parseCIDR(s string) (netip.Prefix, error) {
	var pfx netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if pfx, err = netip.ParsePrefix(s); err != nil {
			return pfx, err
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return pfx, err
		}
		pfx = netip.PrefixFrom(a, a.BitLen())
	}
	if a := pfx.Addr(); a.Is4In6() && pfx.Bits() >= 96 {
		pfx = netip.PrefixFrom(a.Unmap(), pfx.Bits()-96)
	}
	return pfx.Masked(), nil
}

func (b cidrBlocks) matchScalar(v schemas.Value) bool {
	if v.Kind != schemas.String {
		return false
	}
	for rest := v.Str; ; {
		s, more, found := strings.Cut(rest, ",")
		if a, ok := parseIP(strings.TrimSpace(s)); ok && b.contains(a) {
			return true
		}
		if !found {
			return false
		}
		rest = more
	}
}

func (b cidrBlocks) contains(a netip.Addr) bool {
	for _, pfx := range b {
		if pfx.Contains(a) {
			return true
		}
	}
	return false
}

// parseIP reads an address without allocating for IPv4 and host names.
func parseIP(s string) (netip.Addr, bool) {
	if a, ok := parseDottedDecimal(s); ok {
		return a, true
	}
	if !strings.Contains(s, ":") {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// parseDottedDecimal reads a.b.c.d with decimal octets, leading zeros
// allowed.
func parseDottedDecimal(s string) (netip.Addr, bool) {
	var oct [4]byte
	n, val, digits := 0, 0, 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if digits == 0 || n == 4 {
				return netip.Addr{}, false
			}
			oct[n] = byte(val)
			n, val, digits = n+1, 0, 0
			continue
		}
		if !isDigit(s[i]) || digits == 12 {
			return netip.Addr{}, false
		}
		val = val*10 + int(s[i]-'0')
		digits++
		if val > 255 {
			return netip.Addr{}, false
		}
	}
	if n != 4 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(oct), true
}

// ---- value functions ----

type lengthVal struct{ x valuer }

func compileLength(c *compiler, n *Call) valuer { return lengthVal{c.str(n.Args[0], n.Name)} }

func (f lengthVal) value(e *schemas.Event) schemas.Value {
	v := single(f.x.value(e))
	if v.Kind != schemas.String {
		return schemas.Value{}
	}
	return schemas.Num(float64(e.RuneCount(v.Str)))
}

type concatVal struct{ args []valuer }

func compileConcat(c *compiler, n *Call) valuer {
	f := concatVal{}
	for _, a := range n.Args {
		v, _ := c.value(a)
		f.args = append(f.args, v)
	}
	return f
}

func (f concatVal) value(e *schemas.Event) schemas.Value {
	var b strings.Builder
	for _, a := range f.args {
		s, ok := text(single(a.value(e)))
		if !ok {
			return schemas.Value{}
		}
		b.WriteString(s)
	}
	return schemas.Str(b.String())
}

type stringVal struct{ x valuer }

func compileString(c *compiler, n *Call) valuer {
	v, _ := c.value(n.Args[0])
	return stringVal{v}
}

func (f stringVal) value(e *schemas.Event) schemas.Value {
	s, ok := text(single(f.x.value(e)))
	if !ok {
		return schemas.Value{}
	}
	return schemas.Str(s)
}

// substringVal is substring(s, start[, end]) with Python-style positions:
// zero-based, counted in characters, negative ones from the end, the end
// exclusive and clamped to the string.
type substringVal struct {
	s, start, end valuer // end may be nil
}

func compileSubstring(c *compiler, n *Call) valuer {
	f := &substringVal{s: c.str(n.Args[0], n.Name), start: c.number(n.Args[1], n.Name)}
	if len(n.Args) == 3 {
		f.end = c.number(n.Args[2], n.Name)
	}
	return f
}

func (f *substringVal) value(e *schemas.Event) schemas.Value {
	s := single(f.s.value(e))
	start := single(f.start.value(e))
	if s.Kind != schemas.String || start.Kind != schemas.Number {
		return schemas.Value{}
	}
	n := utf8.RuneCountInString(s.Str)
	from, to := toInt(start.Num), n
	if f.end != nil {
		end := single(f.end.value(e))
		if end.Kind != schemas.Number {
			return schemas.Value{}
		}
		to = toInt(end.Num)
	}
	from, to = pyIndex(from, n), pyIndex(to, n)
	if from >= to {
		return schemas.Str("")
	}
	return schemas.Str(s.Str[runeOffset(s.Str, from):runeOffset(s.Str, to)])
}

// pyIndex resolves a Python-style position against a length n.
func pyIndex(i, n int) int {
	if i < 0 {
		i += n
	}
	return max(0, min(i, n))
}

// toInt truncates f to an int, clamped far beyond any string length.
func toInt(f float64) int {
	const limit = 1 << 53
	switch {
	case f > limit:
		return limit
	case f < -limit:
		return -limit
	}
	return int(f)
}

// runeOffset returns the byte offset of the i-th rune of s (len(s) past the
// end).
func runeOffset(s string, i int) int {
	for off := range s {
		if i == 0 {
			return off
		}
		i--
	}
	return len(s)
}

// numberVal is number(s[, base]): a decimal (or, with a 0x prefix or base 16,
// hexadecimal) string to a number; surrounding spaces and a sign are allowed.
// A string that is not a number gives null.
type numberVal struct {
	x    valuer
	base int // 0: decimal, or hexadecimal with 0x
}

func compileNumber(c *compiler, n *Call) valuer {
	v, t := c.value(n.Args[0])
	if t != tAny && t != tStr && t != tNum && t != tNull {
		c.errorf(n.Args[0].Position(), "number needs a string, found %s %s", t, n.Args[0])
	}
	f := &numberVal{x: v}
	if len(n.Args) == 2 {
		lit, ok := n.Args[1].(*Literal)
		switch {
		case ok && lit.Value.Kind == schemas.Null:
		case ok && lit.Value.Kind == schemas.Number && lit.Value.Num >= 2 && lit.Value.Num <= 36 && lit.Value.Num == math.Trunc(lit.Value.Num):
			f.base = int(lit.Value.Num)
		default:
			c.errorf(n.Args[1].Position(), "number: the base must be an integer literal from 2 to 36, found %s", n.Args[1])
		}
	}
	return f
}

func (f *numberVal) value(e *schemas.Event) schemas.Value {
	v := single(f.x.value(e))
	switch v.Kind {
	case schemas.Number:
		return v
	case schemas.String:
		if n, ok := parseNumberString(v.Str, f.base); ok {
			return schemas.Num(n)
		}
	}
	return schemas.Value{}
}

func parseNumberString(s string, base int) (float64, bool) {
	s = strings.TrimSpace(s)
	neg := false
	digits := s
	if digits != "" && (digits[0] == '+' || digits[0] == '-') {
		neg, digits = digits[0] == '-', digits[1:]
	}
	if h, ok := strings.CutPrefix(strings.ToLower(digits), "0x"); ok && (base == 0 || base == 16) {
		digits, base = h, 16
	}
	if base == 0 || base == 10 {
		return parseDecimal(s)
	}
	if digits == "" || digits[0] == '+' || digits[0] == '-' {
		return 0, false
	}
	u, err := strconv.ParseUint(digits, base, 64)
	if err != nil {
		return 0, false
	}
	f := float64(u)
	if neg {
		f = -f
	}
	return f, true
}

// indexOfVal is indexOf(s, sub[, start]): the character position of the first
// occurrence of sub at or after start (negative start is 0), or null.
type indexOfVal struct {
	s, sub, start valuer // start may be nil
	fold          bool
}

func compileIndexOf(c *compiler, n *Call) valuer {
	f := &indexOfVal{s: c.str(n.Args[0], n.Name), sub: c.str(n.Args[1], n.Name), fold: n.Insensitive}
	if len(n.Args) == 3 {
		f.start = c.number(n.Args[2], n.Name)
	}
	return f
}

func (f *indexOfVal) value(e *schemas.Event) schemas.Value {
	s, sub := single(f.s.value(e)), single(f.sub.value(e))
	if s.Kind != schemas.String || sub.Kind != schemas.String {
		return schemas.Value{}
	}
	from := 0
	if f.start != nil {
		st := single(f.start.value(e))
		if st.Kind != schemas.Number {
			return schemas.Value{}
		}
		from = max(0, toInt(st.Num))
	}
	if from > utf8.RuneCountInString(s.Str) {
		return schemas.Value{}
	}
	needle := sub.Str
	if f.fold {
		needle = foldString(needle)
	}
	i, _ := index(s.Str, needle, runeOffset(s.Str, from), f.fold)
	if i < 0 {
		return schemas.Value{}
	}
	return schemas.Num(float64(utf8.RuneCountInString(s.Str[:i])))
}

// betweenVal is between(s, left, right[, greedy]): the text after the first
// left and before the next right (greedy: the last right); "" when either is
// missing.
type betweenVal struct {
	s, left, right, greedy valuer // greedy may be nil
	fold                   bool
}

func compileBetween(c *compiler, n *Call) valuer {
	f := &betweenVal{s: c.str(n.Args[0], n.Name), left: c.str(n.Args[1], n.Name), right: c.str(n.Args[2], n.Name), fold: n.Insensitive}
	if len(n.Args) == 4 {
		v, t := c.value(n.Args[3])
		if t != tAny && t != tBool && t != tNull {
			c.errorf(n.Args[3].Position(), "between: greedy must be a boolean, found %s %s", t, n.Args[3])
		}
		f.greedy = v
	}
	return f
}

func (f *betweenVal) value(e *schemas.Event) schemas.Value {
	s, l, r := single(f.s.value(e)), single(f.left.value(e)), single(f.right.value(e))
	if s.Kind != schemas.String || l.Kind != schemas.String || r.Kind != schemas.String {
		return schemas.Value{}
	}
	greedy := false
	if f.greedy != nil {
		g := single(f.greedy.value(e))
		greedy = g.Kind == schemas.Bool && g.Bool
	}
	left, right := l.Str, r.Str
	if f.fold {
		left, right = foldString(left), foldString(right)
	}
	_, start := index(s.Str, left, 0, f.fold)
	if start < 0 {
		return schemas.Str("")
	}
	var end int
	switch {
	case !greedy:
		end, _ = index(s.Str, right, start, f.fold)
	case f.fold:
		end = lastIndexFold(s.Str, right)
	default:
		end = strings.LastIndex(s.Str, right)
	}
	if end < start {
		return schemas.Str("")
	}
	return schemas.Str(s.Str[start:end])
}

// ---- arithmetic functions ----

func compileArithFunc(op ArithOp) func(c *compiler, n *Call) valuer {
	return func(c *compiler, n *Call) valuer {
		return &arithVal{
			op:    op,
			l:     c.number(n.Args[0], n.Name),
			r:     c.number(n.Args[1], n.Name),
			float: isFloatExpr(n),
		}
	}
}
