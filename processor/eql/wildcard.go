package eql

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Case-insensitive matching in this package uses Unicode simple case folding,
// the equivalence strings.EqualFold implements: two runes are equal when one
// folds to the other (k, K and the Kelvin sign K are all equal). Every
// insensitive comparison folds both sides rune by rune to a canonical member
// of the fold orbit, so byte lengths never have to agree.

// foldRune maps r to the canonical member of its case-folding orbit: the
// lower-case letter for ASCII letters (and the runes that fold to them, such as
// the Kelvin sign), the smallest member otherwise.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return r
	}
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < m {
			m = f
		}
	}
	if 'A' <= m && m <= 'Z' {
		m += 'a' - 'A'
	}
	return m
}

// appendFold appends the folded form of s to dst: runs of ASCII eight bytes
// at a time (appendLowerASCII), other runes one by one (foldRune).
func appendFold(dst []byte, s string) []byte {
	for len(s) > 0 {
		n := asciiPrefix(s)
		dst = appendLowerASCII(dst, s[:n])
		if s = s[n:]; len(s) == 0 {
			break
		}
		r, w := utf8.DecodeRuneInString(s)
		dst = utf8.AppendRune(dst, foldRune(r))
		s = s[w:]
	}
	return dst
}

// foldString returns the folded form of s (allocating; for compile time and
// dynamic operands).
func foldString(s string) string {
	if isFolded(s) {
		return s
	}
	return string(appendFold(make([]byte, 0, len(s)), s))
}

// isFolded reports whether s is ASCII without upper-case letters, the common
// case in which folding is the identity.
func isFolded(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' {
			return false
		}
	}
	return true
}

// foldSet is a set of folded strings.
type foldSet map[string]struct{}

// has reports whether the folded form of s is in the set. It folds into a
// stack buffer, so lookups of strings up to 256 bytes do not allocate.
func (m foldSet) has(s string) bool {
	if isFolded(s) {
		_, ok := m[s]
		return ok
	}
	var buf [256]byte
	b := appendFold(buf[:0], s)
	_, ok := m[string(b)]
	return ok
}

// nextRune decodes the rune at s[i], folding it when fold is set.
func nextRune(s string, i int, fold bool) (rune, int) {
	c := s[i]
	if c < utf8.RuneSelf {
		if fold && 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		return rune(c), 1
	}
	r, w := utf8.DecodeRuneInString(s[i:])
	if fold {
		r = foldRune(r)
	}
	return r, w
}

// hasPrefixFold reports whether s begins with p, where p is already folded.
func hasPrefixFold(s, p string) bool {
	_, ok := prefixFoldLen(s, p)
	return ok
}

// prefixFoldLen matches folded p against the start of s and returns how many
// bytes of s it covered.
func prefixFoldLen(s, p string) (int, bool) {
	i := 0
	for j := 0; j < len(p); {
		if i >= len(s) {
			return 0, false
		}
		sr, sw := nextRune(s, i, true)
		pr, pw := utf8.DecodeRuneInString(p[j:])
		if sr != pr {
			return 0, false
		}
		i += sw
		j += pw
	}
	return i, true
}

// hasSuffixFold reports whether s ends with p, where p is already folded.
func hasSuffixFold(s, p string) bool {
	i := len(s)
	for j := len(p); j > 0; {
		if i == 0 {
			return false
		}
		sr, sw := utf8.DecodeLastRuneInString(s[:i])
		pr, pw := utf8.DecodeLastRuneInString(p[:j])
		if foldRune(sr) != pr {
			return false
		}
		i -= sw
		j -= pw
	}
	return true
}

// indexFold returns the byte offset of the first match of folded sub in s at
// or after byte offset from (a rune boundary), and the offset just past it; -1
// when there is none.
func indexFold(s, sub string, from int) (start, end int) {
	if i := indexFoldASCII(s, sub, from); i != -2 {
		if i < 0 {
			return -1, -1
		}
		return i, i + len(sub)
	}
	for i := from; i <= len(s); {
		if n, ok := prefixFoldLen(s[i:], sub); ok {
			return i, i + n
		}
		if i == len(s) {
			break
		}
		_, w := utf8.DecodeRuneInString(s[i:])
		i += w
	}
	return -1, -1
}

// indexFoldASCII is indexFold for an ASCII subject and pattern: it jumps
// between occurrences of the pattern's first byte in either case with
// IndexByte and compares the rest with ASCII folding. It returns the offset,
// -1 for no match, or -2 when either string is not ASCII: Unicode folding
// maps some non-ASCII characters to ASCII ones (the Kelvin sign to k), so
// those take the general path.
func indexFoldASCII(s, sub string, from int) int {
	if len(sub) == 0 || !isASCII(sub) || !isASCII(s[from:]) {
		return -2
	}
	lo, up := sub[0], sub[0]
	if 'a' <= lo && lo <= 'z' {
		up = lo - 'a' + 'A'
	} else if 'A' <= lo && lo <= 'Z' {
		lo = lo - 'A' + 'a'
	}
	nextLo, nextUp := -1, -1 // cached next positions of each case, from i
	for i := from; i+len(sub) <= len(s); {
		if nextLo < i {
			if nextLo = strings.IndexByte(s[i:], lo); nextLo >= 0 {
				nextLo += i
			} else {
				nextLo = len(s)
			}
		}
		if nextUp < i {
			if nextUp = strings.IndexByte(s[i:], up); nextUp >= 0 {
				nextUp += i
			} else {
				nextUp = len(s)
			}
		}
		i = min(nextLo, nextUp)
		if i+len(sub) > len(s) {
			return -1
		}
		if asciiEqualFold(s[i:i+len(sub)], sub) {
			return i
		}
		i++
	}
	return -1
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func asciiEqualFold(a, b string) bool {
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// lastIndexFold returns the byte offset of the last match of folded sub in s,
// or -1.
func lastIndexFold(s, sub string) int {
	for i := len(s); i >= 0; {
		if hasPrefixFold(s[i:], sub) {
			return i
		}
		if i == 0 {
			break
		}
		_, w := utf8.DecodeLastRuneInString(s[:i])
		i -= w
	}
	return -1
}

// index is strings.Index with optional folding (sub already folded) and a
// start offset; it returns the match's start and end byte offsets, or -1.
func index(s, sub string, from int, fold bool) (int, int) {
	if fold {
		return indexFold(s, sub, from)
	}
	i := strings.Index(s[from:], sub)
	if i < 0 {
		return -1, -1
	}
	return from + i, from + i + len(sub)
}

// ---- wildcards ----

// wildcard is a compiled * / ? pattern, as used by :, like, like~ and the
// wildcard function: * matches any run of characters, ? exactly one
// character, and every other character itself (there is no escape: a
// backslash is an ordinary character, as Windows paths need).
//
// Matching takes time linear in the subject for patterns without ?, and
// O(len(subject) × len(segment)) otherwise: the pattern is split at its stars
// into segments; the first must match at the start, the last at the end, and
// each middle one is found leftmost after the previous — which is optimal, so
// there is no backtracking.
type wildcard struct {
	fold bool
	star bool // false: segs[0] must match the whole subject
	segs []wseg
}

// wseg is a star-free piece of a pattern.
type wseg struct {
	text  string // folded when the pattern is case-insensitive
	runes int    // length in runes; ? counts as one
	hasQ  bool
	// lead is the literal text before the first ? of a segment with one,
	// which find jumps to with a substring search; "" when the segment
	// begins with ? or the text could match bytes other than its own
	// (invalid UTF-8 or U+FFFD, which matchAt compares as decoded runes).
	lead string
}

// hasWildcards reports whether p contains * or ?.
func hasWildcards(p string) bool { return strings.ContainsAny(p, "*?") }

func compileWildcard(p string, fold bool) *wildcard {
	if fold {
		p = foldString(p)
	}
	parts := strings.Split(p, "*")
	w := &wildcard{fold: fold, star: len(parts) > 1}
	for i, s := range parts {
		if s == "" && i > 0 && i < len(parts)-1 {
			continue // ** is *
		}
		seg := wseg{text: s, runes: utf8.RuneCountInString(s), hasQ: strings.Contains(s, "?")}
		if seg.hasQ {
			seg.lead = leadLiteral(s)
		}
		w.segs = append(w.segs, seg)
	}
	return w
}

// leadLiteral returns the text of seg before its first ?, or "" when a
// substring search for it could miss a position where matchAt matches:
// matchAt compares decoded runes, so a U+FFFD or an invalid byte in the
// pattern equals any invalid byte of the subject.
func leadLiteral(seg string) string {
	lead, _, _ := strings.Cut(seg, "?")
	if !utf8.ValidString(lead) || strings.ContainsRune(lead, utf8.RuneError) {
		return ""
	}
	return lead
}

func (w *wildcard) match(s string) bool { return w.matchWith(s, w.fold) }

// matchWith matches s, folding it when fold is set; a case-insensitive
// pattern matches an already folded subject with fold false.
func (w *wildcard) matchWith(s string, fold bool) bool {
	if !w.star {
		end, ok := w.matchAt(s, 0, w.segs[0], fold)
		return ok && end == len(s)
	}
	first, last := w.segs[0], w.segs[len(w.segs)-1]
	i, ok := w.matchAt(s, 0, first, fold)
	if !ok {
		return false
	}
	j, ok := w.suffixStart(s, last, fold)
	if !ok || j < i {
		return false
	}
	mid := s[:j]
	for _, seg := range w.segs[1 : len(w.segs)-1] {
		_, end := w.find(mid, i, seg, fold)
		if end < 0 {
			return false
		}
		i = end
	}
	return true
}

// matchAt matches seg at byte offset i of s and returns the end offset.
func (w *wildcard) matchAt(s string, i int, seg wseg, fold bool) (int, bool) {
	if !seg.hasQ && !fold {
		if strings.HasPrefix(s[i:], seg.text) {
			return i + len(seg.text), true
		}
		return 0, false
	}
	for j := 0; j < len(seg.text); {
		if i >= len(s) {
			return 0, false
		}
		sr, sw := nextRune(s, i, fold)
		pr, pw := utf8.DecodeRuneInString(seg.text[j:])
		if pr != '?' && pr != sr {
			return 0, false
		}
		i += sw
		j += pw
	}
	return i, true
}

// suffixStart returns where seg must start for it to end s.
func (w *wildcard) suffixStart(s string, seg wseg, fold bool) (int, bool) {
	if !seg.hasQ && !fold {
		if strings.HasSuffix(s, seg.text) {
			return len(s) - len(seg.text), true
		}
		return 0, false
	}
	i := len(s)
	for n := 0; n < seg.runes; n++ {
		if i == 0 {
			return 0, false
		}
		_, sz := utf8.DecodeLastRuneInString(s[:i])
		i -= sz
	}
	end, ok := w.matchAt(s, i, seg, fold)
	return i, ok && end == len(s)
}

// find returns the leftmost match of seg in s at or after from.
//
// A segment with a ? is tried at every rune position, except that one
// beginning with a literal (gh in gh?_) is tried only where a substring
// search finds that literal: a match must begin with it, and the search
// (index, with the same folding) stops only at rune boundaries, since the
// literal is valid UTF-8 and so begins with a byte that cannot continue a
// rune.
func (w *wildcard) find(s string, from int, seg wseg, fold bool) (int, int) {
	if !seg.hasQ {
		return index(s, seg.text, from, fold)
	}
	if seg.lead != "" {
		for i := from; i <= len(s); {
			start, _ := index(s, seg.lead, i, fold)
			if start < 0 {
				break
			}
			if end, ok := w.matchAt(s, start, seg, fold); ok {
				return start, end
			}
			_, sz := utf8.DecodeRuneInString(s[start:])
			i = start + sz
		}
		return -1, -1
	}
	for i := from; i <= len(s); {
		if end, ok := w.matchAt(s, i, seg, fold); ok {
			return i, end
		}
		if i == len(s) {
			break
		}
		_, sz := utf8.DecodeRuneInString(s[i:])
		i += sz
	}
	return -1, -1
}
