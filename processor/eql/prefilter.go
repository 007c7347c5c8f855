package eql

import (
	"encoding/binary"
	"math/bits"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"
)

// Fast paths for matching one string against many patterns (a prompt
// against a rule's keyword list and its regexes):
//
//   - An ASCII subject is folded once (lower-cased; for ASCII text that is
//     exactly the case folding this package uses, see foldRune), and every
//     case-insensitive wildcard is then matched against the folded copy
//     with plain, vectorised string search, instead of folding byte by byte
//     once per pattern.
//   - A regex carries the literals one of which any match must contain,
//     found in its syntax tree (regexLiterals). When the subject contains
//     none of them the regex is not run. This is the literal test rules used
//     to write by hand before a regex (`x : "*AKIA*" and x regex …`), done
//     for every regex.

// SWAR constants: one in every byte, and every byte's high bit.
const (
	swarOnes  = 0x0101010101010101
	swarHighs = 0x8080808080808080
)

// asciiString reports whether s is all ASCII.
func asciiString(s string) bool { return asciiPrefix(s) == len(s) }

// asciiPrefix returns the length of the ASCII run at the start of s.
func asciiPrefix(s string) int {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if m := binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(s[i:]), 8)) & swarHighs; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for i < len(s) && s[i] < utf8.RuneSelf {
		i++
	}
	return i
}

// appendLowerASCII appends s, which must be ASCII, lower-cased.
func appendLowerASCII(dst []byte, s string) []byte {
	n := len(dst)
	dst = append(dst, s...)
	b := dst[n:]
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		// High bit of each byte set where the byte is in 'A'..'Z'.
		geA := x + swarOnes*(0x80-'A')
		gtZ := x + swarOnes*(0x7f-'Z')
		upper := geA &^ gtZ & swarHighs
		binary.LittleEndian.PutUint64(b[i:], x|upper>>2)
	}
	for ; i < len(b); i++ {
		if c := b[i]; 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return dst
}

// foldBufs holds the buffers folded subjects are written to.
var foldBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// withFolded calls fn with s folded (see foldRune), valid only during fn.
// Folding maps every rune to one rune, so a folded pattern matches the
// folded subject exactly where it matches s rune by rune with folding, and
// a `?` still stands for one character.
func withFolded(s string, fn func(folded string) bool) bool {
	ascii := asciiString(s)
	if ascii && isFolded(s) {
		return fn(s)
	}
	bp := foldBufs.Get().(*[]byte)
	var b []byte
	if ascii {
		b = appendLowerASCII((*bp)[:0], s)
	} else {
		b = appendFold((*bp)[:0], s)
	}
	r := fn(unsafe.String(unsafe.SliceData(b), len(b)))
	if cap(b) <= 1<<20 {
		*bp = b[:0]
		foldBufs.Put(bp)
	}
	return r
}

// regex is a compiled regex with its literal prefilter, and its matching
// at start literals.
//
// A pattern such as `.*\b(ignore|forget)\s+…` leaves RE2 no literal to
// search for (the word boundary, or case folding, hides it), so RE2 tries a
// match from every position of the subject: about 50 ns a byte. When every
// match begins with one of a few strings (here "ignore" and "forget"),
// match instead searches the subject for those strings, and runs the regex
// anchored at each occurrence only. The anchored regex first consumes the
// character before the occurrence, so that `\b` and other assertions at the
// start see the subject's own context.
type regex struct {
	re *regexp.Regexp
	// lits: a match contains at least one of these; none means no
	// prefilter. Literals of a case-insensitive regex are folded (and then
	// ASCII only).
	lits []string
	fold bool
	// starts: every match begins with one of these, folded (and ASCII) in
	// a case-insensitive regex; nil when the pattern gives none, or
	// begins anchored. at is the regex anchored one character before an
	// occurrence, atHead anchored at the start of the subject.
	starts     []string
	at, atHead *regexp.Regexp
	// startsAreLits: searching for the starts makes the literal test too.
	startsAreLits bool
	// startSet finds whether any start occurs in one pass, when they are
	// many: most subjects hold none.
	startSet *containsSet
}

// minLiteral is the shortest literal worth a prefilter: a shorter one is
// found almost everywhere.
const minLiteral = 3

func newRegex(parts regexParts, fold bool) (*regex, error) {
	r := &regex{re: parts.re, fold: fold}
	if lits, ok := regexLiterals(parts.parsed, fold); ok {
		r.lits = usableLiterals(lits, fold)
	}
	if parts.head != "" {
		return r, nil // RE2 tries the start of the subject only
	}
	starts, ok := regexStarts(parts.body, fold)
	if !ok {
		return r, nil
	}
	if r.starts = usableLiterals(starts, fold); r.starts == nil {
		return r, nil
	}
	slices.Sort(r.starts)
	r.starts = slices.Compact(r.starts)
	lits := slices.Sorted(slices.Values(r.lits))
	r.startsAreLits = slices.Equal(slices.Compact(lits), r.starts)
	if len(r.starts) >= minContains {
		r.startSet = newContainsSet(r.starts)
	}
	body := `(?:` + parts.body.String() + `)` + parts.tail
	var err error
	if r.at, err = regexp.Compile(`^(?s:.)` + body); err != nil {
		return nil, err
	}
	if r.atHead, err = regexp.Compile(`^` + body); err != nil {
		return nil, err
	}
	return r, nil
}

// usableLiterals returns lits ready for searching, folded for a
// case-insensitive regex, or nil when one is too short, or not ASCII under
// folding.
func usableLiterals(lits []string, fold bool) []string {
	for i, l := range lits {
		if len(l) < minLiteral || fold && !asciiString(l) {
			return nil
		}
		if fold {
			lits[i] = strings.ToLower(l)
		}
	}
	return lits
}

// needsFolded reports whether match reads the folded subject.
func (r *regex) needsFolded() bool { return r.fold && (len(r.lits) > 0 || len(r.starts) > 0) }

// match reports whether the regex matches s; folded is s folded, needed
// only when needsFolded.
func (r *regex) match(s, folded string) bool {
	if r.starts == nil || r.fold && !asciiString(s) {
		// Folding non-ASCII text may change its length: the positions of
		// the folded subject are not those of s.
		return r.mayMatch(s, folded) && r.re.MatchString(s)
	}
	if !r.startsAreLits && !r.mayMatch(s, folded) {
		return false
	}
	subject := s
	if r.fold {
		subject = folded
	}
	if r.startSet != nil && !r.startSet.in(subject) {
		return false
	}
	for _, st := range r.starts {
		for off := 0; ; {
			i := strings.Index(subject[off:], st)
			if i < 0 {
				break
			}
			p := off + i
			if p == 0 && r.atHead.MatchString(s) || p > 0 && r.at.MatchString(s[p-1:]) {
				return true
			}
			off = p + 1
		}
	}
	return false
}

// mayMatch reports whether the prefilter lets s through; folded is s
// folded, needed only by a case-insensitive regex. Its literals are ASCII,
// and folding maps every rune that matches an ASCII letter case-insensitively
// (the Kelvin sign, the long s) onto that letter, so a folded literal
// absent from the folded subject rules a match out.
func (r *regex) mayMatch(s, folded string) bool {
	if len(r.lits) == 0 {
		return true
	}
	subject := s
	if r.fold {
		subject = folded
	}
	for _, l := range r.lits {
		if strings.Contains(subject, l) {
			return true
		}
	}
	return false
}

// maxStarts bounds the strings regexStarts and exactStrings return.
const maxStarts = 32

// regexStarts returns strings one of which every match of re begins with,
// or false when it finds none. Under case folding they are as written; the
// caller folds them. It reads re as exactStrings does, and extends the
// exact strings of the leading parts of a concatenation by the starts of
// the first part that has none; it stops extending strings of minLiteral
// bytes or more where that would multiply them.
func regexStarts(re *syntax.Regexp, fold bool) ([]string, bool) {
	switch re.Op {
	case syntax.OpCapture, syntax.OpPlus:
		return regexStarts(re.Sub[0], fold)
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return regexStarts(re.Sub[0], fold)
		}
	case syntax.OpAlternate:
		return union(re.Sub, fold, regexStarts)
	case syntax.OpLiteral, syntax.OpCharClass, syntax.OpConcat:
		subs := []*syntax.Regexp{re}
		if re.Op == syntax.OpConcat {
			subs = re.Sub
		}
		prefix := []string{""}
		for _, sub := range subs {
			set, exact := exactStrings(sub, fold)
			if !exact {
				var ok bool
				if sub == re {
					break // a lone literal or class that has no exact strings
				}
				if set, ok = regexStarts(sub, fold); !ok {
					break
				}
			}
			if len(set) > 1 && longEnough(prefix) {
				break // more strings to search for, each no rarer to find
			}
			longer, ok := product(prefix, set)
			if !ok {
				break
			}
			prefix = longer
			if !exact {
				break
			}
		}
		for _, p := range prefix {
			if p == "" {
				return nil, false
			}
		}
		return prefix, true
	}
	return nil, false
}

// longEnough reports whether every string of set is at least minLiteral
// bytes.
func longEnough(set []string) bool {
	for _, s := range set {
		if len(s) < minLiteral {
			return false
		}
	}
	return true
}

// exactStrings returns the strings re matches, when they are few (and
// known: a literal of a case-sensitive regex under (?i) gives none), or
// false. Assertions match the empty string.
func exactStrings(re *syntax.Regexp, fold bool) ([]string, bool) {
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpWordBoundary, syntax.OpNoWordBoundary, syntax.OpBeginLine, syntax.OpEndLine,
		syntax.OpBeginText, syntax.OpEndText:
		return []string{""}, true
	case syntax.OpLiteral:
		if !fold && re.Flags&syntax.FoldCase != 0 {
			return nil, false
		}
		return []string{string(re.Rune)}, true
	case syntax.OpCharClass:
		var out []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			if re.Rune[i+1]-re.Rune[i] >= maxStarts {
				return nil, false
			}
			for c := re.Rune[i]; c <= re.Rune[i+1]; c++ {
				if len(out) == maxStarts {
					return nil, false
				}
				out = append(out, string(c))
			}
		}
		return out, len(out) > 0
	case syntax.OpCapture:
		return exactStrings(re.Sub[0], fold)
	case syntax.OpQuest:
		set, ok := exactStrings(re.Sub[0], fold)
		if !ok || len(set) == maxStarts {
			return nil, false
		}
		return append(set, ""), true
	case syntax.OpConcat:
		prefix := []string{""}
		for _, sub := range re.Sub {
			set, ok := exactStrings(sub, fold)
			if !ok {
				return nil, false
			}
			if prefix, ok = product(prefix, set); !ok {
				return nil, false
			}
		}
		return prefix, true
	case syntax.OpAlternate:
		return union(re.Sub, fold, exactStrings)
	}
	return nil, false
}

// union returns the strings of every branch of an alternation (regexStarts
// or exactStrings of each), or false when a branch has none or they are
// more than maxStarts.
func union(branches []*syntax.Regexp, fold bool, of func(*syntax.Regexp, bool) ([]string, bool)) ([]string, bool) {
	var all []string
	for _, sub := range branches {
		set, ok := of(sub, fold)
		if !ok || len(all)+len(set) > maxStarts {
			return nil, false
		}
		all = append(all, set...)
	}
	return all, true
}

// product returns every string of a followed by one of b, or false when
// they would be more than maxStarts.
func product(a, b []string) ([]string, bool) {
	if len(a)*len(b) > maxStarts {
		return nil, false
	}
	out := make([]string, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			out = append(out, x+y)
		}
	}
	return out, true
}

// regexLiterals returns literals one of which every match of re contains,
// or false when it finds none. Under case folding the literals are as
// written; the caller folds them.
//
// In a case-sensitive regex, a literal under (?i) is no exact literal and
// is not used; in a case-insensitive one, every literal is compared folded
// (for one under (?-i) that is a weaker test, still a necessary one).
func regexLiterals(re *syntax.Regexp, fold bool) ([]string, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		if len(re.Rune) == 0 || !fold && re.Flags&syntax.FoldCase != 0 {
			return nil, false
		}
		return []string{string(re.Rune)}, true
	case syntax.OpCapture, syntax.OpPlus:
		return regexLiterals(re.Sub[0], fold)
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return regexLiterals(re.Sub[0], fold)
		}
	case syntax.OpConcat:
		// Every part is required: take the part whose literals are the
		// longest (the rarest, as a rule).
		var best []string
		bestLen := 0
		for _, sub := range re.Sub {
			lits, ok := regexLiterals(sub, fold)
			if !ok {
				continue
			}
			shortest := len(lits[0])
			for _, l := range lits {
				shortest = min(shortest, len(l))
			}
			if shortest > bestLen || shortest == bestLen && len(lits) < len(best) {
				best, bestLen = lits, shortest
			}
		}
		return best, best != nil
	case syntax.OpAlternate:
		// One of the branches matches: every branch needs literals.
		var all []string
		for _, sub := range re.Sub {
			lits, ok := regexLiterals(sub, fold)
			if !ok {
				return nil, false
			}
			all = append(all, lits...)
		}
		return all, len(all) > 0
	}
	return nil, false
}

// containsSet finds whether any of a set of folded literals occurs in a
// folded subject, in one pass over it. Literals of four bytes or more are
// found through a table of hashes of four-byte grams: with a few dozen
// literals in 65,536 slots, about one probe in a thousand is a candidate,
// where the literals of that slot are compared. The subject is probed only
// every stride bytes, stride being the shortest such literal's length − 3
// (at most maxStride): an occurrence at p covers one probe p+k, k < stride,
// whose gram is the literal's gram at k, so each literal's grams at 0 …
// stride−1 are in the table. Literals of two or three bytes go through a
// table of their first two bytes, probed at every byte. With many literals
// this beats one vectorised search per literal.
type containsSet struct {
	stride int
	// ascii: every literal is ASCII, so the set can also be searched in a
	// subject that is not folded (see inUnfolded). The tables then take
	// bytes with 0x20 set (caseBits), which maps an upper-case ASCII letter
	// to its lower-case one (and a few other bytes onto each other: the
	// tables only select candidates).
	ascii    bool
	caseBits uint32
	quads    [1 << 16 / 64]uint64 // bit quadHash(gram, caseBits): a literal of 4+ bytes holds gram at an offset < stride
	byQuad   map[uint16][]gramAt
	pairs    [256 * 256 / 64]uint64 // bit c0<<8|c1: a literal of 2 or 3 bytes begins with c0 c1
	byPair   map[uint16][]string    // nil when there is no such literal
}

// gramAt is a literal whose four-byte gram at off hashes to a slot.
type gramAt struct {
	lit string
	off int
}

// minContains is the number of *text* wildcards from which a matcher
// searches them together; from two when every text is at least
// minLongContains bytes, since the set then probes every third byte or
// less often (2 literals of 6+ bytes: 1.3-1.9 GB/s against 1.0 for two
// substring searches over an English prompt; 5 literals: 1.8 against 0.7).
const (
	minContains     = 6
	minLongContains = 6
)

// maxStride bounds containsSet.stride, and so the grams kept per literal.
const maxStride = 8

// quadHash hashes four bytes, with mask's bits set, to a slot of
// containsSet.quads (Fibonacci hashing: the top 16 bits of the product).
func quadHash(t string, mask uint32) uint16 {
	x := uint32(t[0]) | uint32(t[1])<<8 | uint32(t[2])<<16 | uint32(t[3])<<24 | mask
	return uint16((x * 0x9E3779B1) >> 16)
}

// pairOf is the index of the two bytes at the start of t in
// containsSet.pairs, with mask's bits set in each.
func pairOf(t string, mask uint32) uint16 {
	return (uint16(t[0])<<8 | uint16(t[1])) | uint16(mask)
}

func newContainsSet(lits []string) *containsSet {
	c := &containsSet{stride: maxStride, byQuad: map[uint16][]gramAt{}, ascii: true}
	for _, l := range lits {
		if len(l) >= 4 {
			c.stride = min(c.stride, len(l)-3)
		}
		c.ascii = c.ascii && asciiString(l)
	}
	if c.ascii {
		c.caseBits = 0x20202020
	}
	for _, l := range lits {
		if len(l) >= 4 {
			for k := 0; k < c.stride; k++ {
				h := quadHash(l[k:k+4], c.caseBits)
				c.quads[h>>6] |= 1 << (h & 63)
				c.byQuad[h] = append(c.byQuad[h], gramAt{l, k})
			}
			continue
		}
		if c.byPair == nil {
			c.byPair = map[uint16][]string{}
		}
		p := pairOf(l, c.caseBits)
		c.pairs[p>>6] |= 1 << (p & 63)
		c.byPair[p] = append(c.byPair[p], l)
	}
	return c
}

// in reports whether one of the literals occurs in s.
func (c *containsSet) in(s string) bool { return c.search(s, false) }

// inUnfolded reports whether one of the literals, which must all be ASCII
// (c.ascii), occurs in the folded form of s, without folding s: s must not
// hold a rune that folds onto an ASCII letter (see foldsOntoASCII). Then an
// ASCII literal occurs in the folded s exactly where it occurs in s with
// ASCII letters compared regardless of case: every other rune stays
// non-ASCII, and its bytes match no byte of a literal.
func (c *containsSet) inUnfolded(s string) bool { return c.search(s, true) }

// search probes s through the tables, and confirms each candidate literal
// at its place: exactly, or with ASCII letters of s lower-cased when
// unfolded.
func (c *containsSet) search(s string, unfolded bool) bool {
	for i := 0; i+4 <= len(s); i += c.stride {
		h := quadHash(s[i:i+4], c.caseBits)
		if c.quads[h>>6]&(1<<(h&63)) == 0 {
			continue
		}
		for _, g := range c.byQuad[h] {
			if p := i - g.off; p >= 0 && hasLiteral(s[p:], g.lit, unfolded) {
				return true
			}
		}
	}
	if c.byPair == nil {
		return false
	}
	for i := 0; i+1 < len(s); i++ {
		p := pairOf(s[i:], c.caseBits)
		if c.pairs[p>>6]&(1<<(p&63)) == 0 {
			continue
		}
		for _, l := range c.byPair[p] {
			if hasLiteral(s[i:], l, unfolded) {
				return true
			}
		}
	}
	return false
}

// hasLiteral reports whether s begins with lit: exactly, or, when unfolded,
// as hasPrefixFoldASCII.
func hasLiteral(s, lit string, unfolded bool) bool {
	if unfolded {
		return hasPrefixFoldASCII(s, lit)
	}
	return strings.HasPrefix(s, lit)
}

// hasPrefixFoldASCII reports whether s begins with lit, a folded ASCII
// string, ASCII letters of s compared regardless of case.
func hasPrefixFoldASCII(s, lit string) bool {
	if len(s) < len(lit) {
		return false
	}
	for i := 0; i < len(lit); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lit[i] {
			return false
		}
	}
	return true
}

// foldsOntoASCII reports whether s holds a non-ASCII rune whose folded form
// is ASCII: the long s (ſ, folding to s) and the Kelvin sign (K, to k) are
// the only two (TestFoldOntoASCII).
func foldsOntoASCII(s string) bool {
	return strings.Contains(s, "\u017f") || strings.Contains(s, "\u212a")
}

// gatherContains moves the case-insensitive wildcards of the form *text*
// (text of two bytes or more, no ?) into a containsSet when there are
// enough of them.
func (m *matcher) gatherContains() {
	if !m.fold {
		return
	}
	var lits []string
	for _, w := range m.wild {
		if lit, ok := w.containsLiteral(); ok {
			lits = append(lits, lit)
		}
	}
	shortest := minLongContains
	for _, l := range lits {
		shortest = min(shortest, len(l))
	}
	if len(lits) < 2 || len(lits) < minContains && shortest < minLongContains {
		return
	}
	m.contains = newContainsSet(lits)
	kept := m.wild[:0]
	for _, w := range m.wild {
		if _, ok := w.containsLiteral(); !ok {
			kept = append(kept, w)
		}
	}
	m.wild = kept
}

// containsLiteral returns text if w is *text* with text of two bytes or
// more and no ?.
func (w *wildcard) containsLiteral() (string, bool) {
	if !w.fold || !w.star || len(w.segs) != 3 || w.segs[0].text != "" || w.segs[2].text != "" {
		return "", false
	}
	mid := w.segs[1]
	if mid.hasQ || len(mid.text) < 2 {
		return "", false
	}
	return mid.text, true
}
