// Package redact masks secrets and bounds text that leaves bedrockwatch.
//
// Prompts and completions are the most sensitive data the service reads. They
// appear only in alerts that ask for them, truncated and with every secret
// this package recognises masked: AWS access key ids and secret keys, private
// key blocks, Bedrock API keys, GitHub tokens and bearer tokens. They never
// appear in logs, errors, spans or metrics.
package redact

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// Kind names a kind of secret.
type Kind string

// The secrets recognised.
const (
	AWSAccessKeyID  Kind = "aws_access_key_id"
	AWSSecretKey    Kind = "aws_secret_access_key"
	PrivateKey      Kind = "private_key"
	BedrockAPIKey   Kind = "bedrock_api_key"
	GitHubToken     Kind = "github_token"
	BearerToken     Kind = "bearer_token"
	maskRune             = '*'
	keepPrefixRunes      = 4
	// maxSecretBytes is the longest secret Excerpt expects to mask whole
	// (a 4096-bit RSA private key block is about 3.3 KB).
	maxSecretBytes = 8 << 10
)

type pattern struct {
	kind Kind
	re   *regexp.Regexp
	// group is the submatch that holds the secret (0: the whole match).
	group int
	// lits: every match begins with one of these, so a text holding none
	// is not searched (most prompts hold no secret), and one that does is
	// searched only where one begins. With fold the regex is
	// case-insensitive and lits are lower case.
	lits []string
	fold bool
	// wordStart: every match begins at a word boundary (\b), which
	// masking a secret just before it can make (see Mask).
	wordStart bool
	// at is re anchored one character before a literal (that character
	// is consumed, so that \b at the start sees it); atHead is re anchored
	// at the start of the text.
	at, atHead *regexp.Regexp
}

func newPattern(kind Kind, src string, group int, lits []string, fold bool) pattern {
	return pattern{kind: kind, re: regexp.MustCompile(src), group: group, lits: lits, fold: fold,
		wordStart: strings.HasPrefix(strings.TrimPrefix(src, "(?i)"), `\b`),
		at:        regexp.MustCompile(`^(?s:.)(?:` + src + `)`), atHead: regexp.MustCompile(`^(?:` + src + `)`)}
}

// The order matters: a private key block is masked whole before anything
// inside it is looked at.
var patterns = []pattern{
	newPattern(PrivateKey, `-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)`, 0,
		[]string{"-----BEGIN "}, false),
	newPattern(AWSSecretKey, `(?i)(?:aws_secret_access_key|secret_?access_?key|secretaccesskey|aws_secret)["']?\s*[:=]\s*["']?([A-Za-z0-9/+=]{40})`, 1,
		[]string{"aws_secret", "secret"}, true),
	newPattern(AWSAccessKeyID, `\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b`, 0,
		[]string{"AKIA", "ASIA", "ABIA", "ACCA"}, false),
	newPattern(BedrockAPIKey, `\bABSK[A-Za-z0-9+/=]{20,}|\bbedrock-api-key-[A-Za-z0-9+/=._-]{10,}`, 0,
		[]string{"ABSK", "bedrock-api-key-"}, false),
	newPattern(GitHubToken, `\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b`, 0,
		// not "gh": it is in most English text ("might", "though")
		[]string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"}, false),
	newPattern(BearerToken, `(?i)\bbearer\s+([A-Za-z0-9\-._~+/]{16,}=*)`, 1,
		[]string{"bearer"}, true),
}

// The literal tests of all patterns are made in one pass over the text:
// every literal is at least four bytes, and a table of hashes of their
// first four bytes, lower-cased, picks the positions where one may begin
// (a few in a thousand of an English prompt); there each literal of that
// slot is compared, exactly or, for a case-insensitive pattern, ignoring
// ASCII case. Before, the text was lower-cased into a copy and searched once
// per literal: 170 MB/s on an English prompt.
type litRef struct {
	lit  string
	pat  int // index in patterns
	fold bool
}

var lits = newLitTable()

type litTable struct {
	heads  [1 << 16 / 64]uint64 // bit headHash(lower-cased first four bytes)
	byHead map[uint16][]litRef
	folded uint64 // the patterns with fold set
}

func newLitTable() *litTable {
	t := &litTable{byHead: map[uint16][]litRef{}}
	for i, p := range patterns {
		if p.fold {
			t.folded |= 1 << i
		}
		for _, l := range p.lits {
			if len(l) < 4 {
				panic("redact: literal " + l + " is shorter than 4 bytes")
			}
			h := headHash(l)
			t.heads[h>>6] |= 1 << (h & 63)
			t.byHead[h] = append(t.byHead[h], litRef{l, i, p.fold})
		}
	}
	return t
}

// headHash hashes the first four bytes of s with bit 5 of each set, which
// lower-cases ASCII letters (and merges some other pairs of bytes, which
// only adds candidates).
func headHash(s string) uint16 {
	x := uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
	return uint16(((x | 0x20202020) * 0x9E3779B1) >> 16)
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// hasPrefixFold reports whether s begins with lit, a lower-case ASCII
// literal, ignoring ASCII case.
func hasPrefixFold(s, lit string) bool {
	if len(s) < len(lit) {
		return false
	}
	for i := 0; i < len(lit); i++ {
		if lowerASCII(s[i]) != lit[i] {
			return false
		}
	}
	return true
}

// foldOntoASCII are the runes beyond ASCII that case folding maps onto ASCII
// letters: the long s (s) and the Kelvin sign (k). Only where one occurs
// can a case-insensitive pattern match other than at a literal found by
// ASCII case-insensitive comparison.
var foldOntoASCII = []string{"\u017f", "\u212a"}

// candidates returns the set of patterns (bit i: patterns[i]) whose
// literal test lets s through: one of its literals occurs in s, ignoring
// ASCII case for a case-insensitive pattern. When s holds a rune of
// foldOntoASCII, where lower-casing ASCII is not case folding, the
// case-insensitive patterns are all let through, and oddFolds is true.
func (t *litTable) candidates(s string) (mask uint64, oddFolds bool) {
	var any byte
	for i := 0; i+4 <= len(s); i++ {
		any |= s[i]
		h := headHash(s[i : i+4])
		if t.heads[h>>6]&(1<<(h&63)) == 0 {
			continue
		}
		for _, r := range t.byHead[h] {
			if mask&(1<<r.pat) != 0 {
				continue
			}
			if r.fold && hasPrefixFold(s[i:], r.lit) || !r.fold && strings.HasPrefix(s[i:], r.lit) {
				mask |= 1 << r.pat
			}
		}
	}
	for i := max(len(s)-3, 0); i < len(s); i++ {
		any |= s[i]
	}
	if any >= utf8.RuneSelf {
		for _, r := range foldOntoASCII {
			if strings.Contains(s, r) {
				return mask | t.folded, true
			}
		}
	}
	return mask, false
}

// Finding is one secret found in a text.
type Finding struct {
	Kind       Kind
	Start, End int // byte offsets of the secret
}

// Find returns the secrets in s, in order of position, without overlaps.
func Find(s string) []Finding { return find(s, true) }

// find is Find, with or without the literal tests. With them, a pattern
// runs only where one of its literals begins (see findAt), except a
// case-insensitive one when s holds a rune of foldOntoASCII.
func find(s string, prefilter bool) []Finding {
	var out []Finding
	covered := func(a, b int) bool {
		for _, f := range out {
			if a < f.End && f.Start < b {
				return true
			}
		}
		return false
	}
	var may uint64 = 1<<len(patterns) - 1
	oddFolds := true
	if prefilter {
		may, oddFolds = lits.candidates(s)
	}
	lower := "" // s with ASCII letters lower-cased, for the case-insensitive patterns
	for i := range patterns {
		p := &patterns[i]
		if may&(1<<i) == 0 {
			continue
		}
		var ms [][]int
		switch {
		case !prefilter || p.fold && oddFolds:
			ms = p.re.FindAllStringSubmatchIndex(s, -1)
		case p.fold:
			if lower == "" {
				lower = lowerASCIIString(s)
			}
			ms = p.findAt(s, lower)
		default:
			ms = p.findAt(s, s)
		}
		for _, m := range ms {
			a, b := m[2*p.group], m[2*p.group+1]
			if a < 0 || covered(a, b) {
				continue
			}
			out = append(out, Finding{Kind: p.kind, Start: a, End: b})
		}
	}
	// insertion sort: findings are few
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Start < out[j-1].Start; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// findAt returns p.re.FindAllStringSubmatchIndex(s, -1), given that every
// match begins where one of p.lits begins in subject (s, or s lower-cased
// for a case-insensitive pattern, at the same offsets). It tries the
// earliest such place first and, after a match, the earliest after its
// end, as the unanchored search does; but it runs the regex anchored there
// only, instead of trying every position of s.
func (p *pattern) findAt(s, subject string) [][]int {
	var out [][]int
	var buf [8]int
	next := buf[:0] // the next occurrence of each literal, -1 for none
	for _, l := range p.lits {
		next = append(next, strings.Index(subject, l))
	}
	for pos := 0; ; {
		at := -1
		for k, n := range next {
			if n >= 0 && n < pos {
				if n = strings.Index(subject[pos:], p.lits[k]); n >= 0 {
					n += pos
				}
				next[k] = n
			}
			if n >= 0 && (at < 0 || n < at) {
				at = n
			}
		}
		if at < 0 {
			return out
		}
		var m []int
		if at == 0 {
			m = p.atHead.FindStringSubmatchIndex(s)
		} else if m = p.at.FindStringSubmatchIndex(s[at-1:]); m != nil {
			for j := range m {
				if m[j] >= 0 {
					m[j] += at - 1
				}
			}
			m[0] = at // not the character before, which at consumed
		}
		if m == nil {
			pos = at + 1
			continue
		}
		out = append(out, m)
		pos = max(m[1], at+1)
	}
}

func lowerASCIIString(s string) string {
	b := make([]byte, len(s))
	for i := 0; i < len(s); i++ {
		b[i] = lowerASCII(s[i])
	}
	return string(b)
}

// Mask replaces every secret in s by its first four characters followed by
// asterisks (AKIA****************), and returns how many it masked. A private
// key block becomes its BEGIN line and a marker.
//
// An asterisk is not a word character, so masking a secret puts a word
// boundary after it: text that ran on from the secret
// ("secret_key=<40 characters>ABIA0000000000000000") can then read as a
// secret of its own, which the masked text would show. So Mask looks again
// right after each part it masked, where only the patterns that begin at a
// word boundary can newly match, and masks what it finds there, until
// nothing new appears: each look is one anchored match, so a chain of such
// secrets costs no more than their length.
func Mask(s string) (string, int) {
	fs := Find(s)
	total := 0
	for len(fs) > 0 {
		var ends []int
		s, ends = maskAll(s, fs)
		total += len(fs)
		fs = fs[:0]
		for _, e := range ends {
			if f, ok := findAfterMask(s, e); ok {
				fs = append(fs, f)
			}
		}
	}
	return s, total
}

// maskAll masks the findings fs of s and returns the new text and where
// each masked part ends in it.
func maskAll(s string, fs []Finding) (string, []int) {
	var b strings.Builder
	b.Grow(len(s))
	ends := make([]int, 0, len(fs))
	last := 0
	for _, f := range fs {
		b.WriteString(s[last:f.Start])
		b.WriteString(maskOne(f.Kind, s[f.Start:f.End]))
		ends = append(ends, b.Len())
		last = f.End
	}
	b.WriteString(s[last:])
	return b.String(), ends
}

// findAfterMask returns the secret that begins at i, right after a masked
// part, if one does: the first pattern, in order, that begins at a word
// boundary and matches there.
func findAfterMask(s string, i int) (Finding, bool) {
	if i >= len(s) {
		return Finding{}, false
	}
	for k := range patterns {
		p := &patterns[k]
		if !p.wordStart {
			continue
		}
		// The text before i is an asterisk, no word character, as the
		// start of s[i:] counts for \b.
		if m := p.atHead.FindStringSubmatchIndex(s[i:]); m != nil && m[2*p.group] >= 0 {
			return Finding{Kind: p.kind, Start: i + m[2*p.group], End: i + m[2*p.group+1]}, true
		}
	}
	return Finding{}, false
}

func maskOne(k Kind, secret string) string {
	if k == PrivateKey {
		head, _, _ := strings.Cut(secret, "\n")
		if !strings.HasSuffix(head, "-----") || len(head) > 64 {
			head = "-----BEGIN PRIVATE KEY-----"
		}
		return head + "[masked]"
	}
	n := utf8.RuneCountInString(secret)
	keep := keepPrefixRunes
	if k == BearerToken || k == AWSSecretKey {
		keep = 0
	}
	if keep > n {
		keep = n
	}
	i := 0
	for r := 0; r < keep; r++ {
		_, size := utf8.DecodeRuneInString(secret[i:])
		i += size
	}
	return secret[:i] + strings.Repeat(string(maskRune), n-keep)
}

// Truncate returns the first max characters (runes) of s and whether it cut
// anything. It never splits a UTF-8 sequence.
func Truncate(s string, max int) (string, bool) {
	if max < 0 {
		max = 0
	}
	if len(s) <= max {
		return s, false
	}
	i, n := 0, 0
	for i < len(s) && n < max {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		n++
	}
	if i >= len(s) {
		return s, false
	}
	return s[:i], true
}

// Excerpt masks the secrets in s, then truncates it to max characters. It
// returns the excerpt, whether it was truncated and how many secrets were
// masked.
func Excerpt(s string, max int) (string, bool, int) {
	// Only the start of s can reach the excerpt. Mask a window long enough
	// to hold the excerpt and any secret that begins inside it (a private
	// key block that runs past the window is masked to the window's end).
	if window := 4*max + maxSecretBytes; len(s) > window {
		s = s[:window]
	}
	masked, n := Mask(s)
	out, cut := Truncate(masked, max)
	return out, cut, n
}
