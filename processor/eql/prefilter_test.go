package eql

import (
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestRegexLiterals(t *testing.T) {
	cases := []struct {
		pattern string
		fold    bool
		want    []string // nil: no prefilter
	}{
		{`.*\b(ignore|disregard|forget)\s+(all\s+)?instructions\b.*`, true, []string{"instructions"}},
		{`.*(\b(AKIA|ASIA)[A-Z0-9]{16}\b|-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----).*`, false, []string{"KIA", "SIA", "PRIVATE KEY-----"}},
		{`.*\bbedrock[a-z-]*\s+(.*\s)?delete-[a-z0-9-]+.*`, true, []string{"bedrock"}},
		{`.*(foo|ba).*`, false, nil},                         // "ba" is too short
		{`.*(foo|[a-z]+).*`, false, nil},                     // one branch has no literal
		{`.*x*abc?.*`, false, nil},                           // "ab" is the longest required literal
		{`.*(?i:secret)-token.*`, false, []string{"-token"}}, // a folded literal is no exact literal
		{`.*(?i:secret).*`, false, nil},
		{`(abc){2,}`, false, []string{"abc"}},
		{`(abc){0,3}`, false, nil},
		{`.*Ünïcode.*`, true, nil}, // folded non-ASCII literals: no prefilter
	}
	for _, c := range cases {
		re, err := compileRegexFiltered(c.pattern, c.fold)
		if err != nil {
			t.Fatalf("%s: %v", c.pattern, err)
		}
		want := c.want
		if c.fold {
			for i := range want {
				want[i] = strings.ToLower(want[i])
			}
		}
		if !slices.Equal(re.lits, want) {
			t.Errorf("%s (fold %v): literals %q, want %q", c.pattern, c.fold, re.lits, want)
		}
	}
}

// TestPrefilterKeepsResults: matchers with the prefilters and the folded
// fast path give the results of the plain regexes and of wildcard matching
// with per-rune folding, over random subjects built from the patterns'
// pieces (so that matches happen), in mixed case and with non-ASCII runes
// that fold onto ASCII ones (the Kelvin sign K folds to k, ſ to s).
func TestPrefilterKeepsResults(t *testing.T) {
	regexes := []string{
		`.*\b(ignore|disregard|forget|override|bypass)\s+(all\s+|any\s+|the\s+)*(previous|prior)?\s*(instructions|rules)\b.*`,
		`.*(\b(AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b|-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----|\bgh[pousr]_[A-Za-z0-9]{36,}).*`,
		`.*\bbedrock[a-z-]*\s+(.*\s)?(delete|put)-[a-z0-9-]+.*`,
		`.*(?i:secret)-TOKEN.*`,
	}
	wilds := []string{"*ignore*", "*AKIA*", "*system prompt*", "*gh?_*", "aws *", "*-----", "*bedrock*delete-*", "?ork*", "*k",
		"*previous*", "*ſecret*", "*wor\u212a*", "*é*", "*rules*", "*x*"}
	pieces := []string{"ignore", "IGNORE", "Ignore", "all ", "the ", "previous ", "instructions", "rules", "AKIA",
		"akia", "ASIA", "ABCDEFGHIJKLMNOP", "0123456789ABCDEF", "-----BEGIN ", "RSA ", "PRIVATE KEY-----", "ghp_",
		"abcdefghijklmnopqrstuvwxyz0123456789", "bedrock", "BEDROCK-agent", " delete-", "put-agent", "aws ", " ", "\n",
		"system prompt", "SYSTEM PROMPT", "ſystem prompt", "Kelvin K", "wor\u212a", "work", "secret-TOKEN", "SECRET-TOKEN",
		"Secret-token", "é", "ü", "x"}
	rnd := rand.New(rand.NewPCG(3, 4))
	for _, fold := range []bool{false, true} {
		plain := make([]*regexp.Regexp, len(regexes))
		m := newMatcher(fold)
		for i, p := range regexes {
			re, err := compileRegex(p, fold)
			if err != nil {
				t.Fatal(err)
			}
			plain[i] = re
			fre, err := compileRegexFiltered(p, fold)
			if err != nil {
				t.Fatal(err)
			}
			m.res = append(m.res, fre)
		}
		// Two sets of wildcards: with a non-ASCII literal (the contains set
		// searches the folded subject), and without (it searches the
		// subject itself, unless that holds ſ or K).
		wm := newMatcher(fold)
		for _, p := range wilds {
			wm.addPattern(p)
		}
		all := append([]*wildcard(nil), wm.wild...)
		wm.gatherContains()
		if fold && (wm.contains == nil || wm.contains.ascii) {
			t.Fatal("no contains set with a non-ASCII literal gathered")
		}
		am := newMatcher(fold)
		for _, p := range wilds {
			if p != "*é*" {
				am.addPattern(p)
			}
		}
		allASCII := append([]*wildcard(nil), am.wild...)
		am.gatherContains()
		if fold && (am.contains == nil || !am.contains.ascii) {
			t.Fatal("no contains set of ASCII literals gathered")
		}
		for n := 0; n < 20000; n++ {
			var b strings.Builder
			for k := rnd.IntN(8); k >= 0; k-- {
				b.WriteString(pieces[rnd.IntN(len(pieces))])
			}
			s := b.String()
			want := false
			for _, re := range plain {
				want = want || re.MatchString(s)
			}
			if got := m.matchPatterns(s); got != want {
				t.Fatalf("fold %v: regexes on %q: got %v, want %v", fold, s, got, want)
			}
			wantW := false
			for _, w := range all {
				wantW = wantW || w.match(s)
			}
			if got := wm.matchPatterns(s); got != wantW {
				t.Fatalf("fold %v: wildcards on %q: got %v, want %v", fold, s, got, wantW)
			}
			wantA := false
			for _, w := range allASCII {
				wantA = wantA || w.match(s)
			}
			if got := am.matchPatterns(s); got != wantA {
				t.Fatalf("fold %v: ASCII wildcards on %q: got %v, want %v", fold, s, got, wantA)
			}
		}
	}
}

func TestLowerASCII(t *testing.T) {
	for _, s := range []string{"", "A", "Hello, World! @[`{ AZaz09", strings.Repeat("MiXeD cAsE 123 ", 20)} {
		if got, want := string(appendLowerASCII(nil, s)), strings.ToLower(s); got != want {
			t.Errorf("appendLowerASCII(%q) = %q, want %q", s, got, want)
		}
		if !asciiString(s) {
			t.Errorf("asciiString(%q) = false", s)
		}
	}
	if asciiString("abcdefgh\u212a") || asciiString("abcdefghijklmnopé") {
		t.Error("asciiString accepts non-ASCII")
	}
}

// TestContainsSetAgreesWithContains: containsSet.in is true exactly when
// one of its literals is a substring, for random sets of literals of two to
// fifteen bytes (both tables, every stride) over a small alphabet, so that
// near misses and hash collisions are common, and occurrences fall at every
// offset from the probes.
func TestContainsSetAgreesWithContains(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 6))
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "abcde é"[rnd.IntN(8)]
		}
		return string(b)
	}
	for set := 0; set < 300; set++ {
		lits := make([]string, 1+rnd.IntN(40))
		shortest := 2 + rnd.IntN(10)
		for i := range lits {
			lits[i] = word(shortest + rnd.IntN(6))
		}
		c := newContainsSet(lits)
		for n := 0; n < 300; n++ {
			s := word(rnd.IntN(40))
			if n%3 == 0 { // plant a literal at a random offset
				l := lits[rnd.IntN(len(lits))]
				at := rnd.IntN(len(s) + 1)
				s = s[:at] + l + s[at:]
			}
			want := false
			for _, l := range lits {
				want = want || strings.Contains(s, l)
			}
			if got := c.in(s); got != want {
				t.Fatalf("literals %q, subject %q: in = %v, want %v", lits, s, got, want)
			}
		}
	}
}

// TestContainsSetUnfolded: for ASCII literals, searching a subject without
// ſ or K as it is gives what searching its folded form gives, over random
// subjects in mixed case with non-ASCII runes and the bytes that setting
// 0x20 maps onto letters and onto each other (@ and `, [ and {, _ and DEL).
func TestContainsSetUnfolded(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 8))
	const alphabet = "abcABC_\x7f@`[{ é\u00c9\u0130"
	runes := []rune(alphabet)
	word := func(n int, from []rune) string {
		b := make([]rune, n)
		for i := range b {
			b[i] = from[rnd.IntN(len(from))]
		}
		return string(b)
	}
	litRunes := []rune("abc_\x7f@`[{ ")
	for set := 0; set < 300; set++ {
		lits := make([]string, 1+rnd.IntN(30))
		shortest := 2 + rnd.IntN(8)
		for i := range lits {
			lits[i] = foldString(word(shortest+rnd.IntN(6), litRunes))
		}
		c := newContainsSet(lits)
		if !c.ascii {
			t.Fatalf("literals %q: not ASCII", lits)
		}
		for n := 0; n < 300; n++ {
			s := word(rnd.IntN(40), runes)
			if n%3 == 0 { // plant a literal, in mixed case, at a random offset
				l := []byte(lits[rnd.IntN(len(lits))])
				for i, ch := range l {
					if 'a' <= ch && ch <= 'z' && rnd.IntN(2) == 0 {
						l[i] = ch - 'a' + 'A'
					}
				}
				at := rnd.IntN(len(s) + 1)
				for at > 0 && at < len(s) && !utf8.RuneStart(s[at]) {
					at--
				}
				s = s[:at] + string(l) + s[at:]
			}
			if foldsOntoASCII(s) {
				t.Fatalf("%q: holds no rune that folds onto ASCII", s)
			}
			if got, want := c.inUnfolded(s), c.in(foldString(s)); got != want {
				t.Fatalf("literals %q, subject %q: inUnfolded = %v, in(folded) = %v", lits, s, got, want)
			}
		}
	}
	for _, s := range []string{"\u017fecret", "wor\u212a", "x\u017f"} {
		if !foldsOntoASCII(s) {
			t.Errorf("foldsOntoASCII(%q) = false", s)
		}
	}
}

// TestFoldOntoASCII: the only non-ASCII runes that fold onto ASCII are ſ
// and K, which foldsOntoASCII looks for.
func TestFoldOntoASCII(t *testing.T) {
	for r := rune(utf8.RuneSelf); r <= unicode.MaxRune; r++ {
		if f := foldRune(r); f < utf8.RuneSelf && r != '\u017f' && r != '\u212a' {
			t.Errorf("%U folds onto %q", r, f)
		}
	}
}

// BenchmarkContainsSet: the phrase list of the built-in prompt-injection
// rule over an English prompt that holds none of them.
func BenchmarkContainsSet(b *testing.B) {
	lits := []string{"system prompt", "everything above this line", "your initial instructions", "training data",
		"you are now dan", "dan mode", "do anything now", "developer mode", "jailbreak", "no content policy",
		"no restrictions", "without restriction", "unrestricted ai", "unrestricted assistant", "pretend you are",
		"act as if you have no", "you are now evil", "ignore", "disregard", "forget", "override", "bypass"}
	c := newContainsSet(lits)
	s := strings.Repeat("please summarise the quarterly report for the sales team, and draft a short email to the "+
		"regional managers asking them to send their updated forecasts by friday. keep the tone friendly. ", 10)
	b.SetBytes(int64(len(s)))
	for i := 0; i < b.N; i++ {
		if c.in(s) {
			b.Fatal("matched")
		}
	}
}

// TestGatherContainsChoosesTheSetByLength: a few long phrases are searched
// together; a few short ones, which a vectorised substring search finds
// faster, are not, unless there are many.
func TestGatherContainsChoosesTheSetByLength(t *testing.T) {
	for _, tc := range []struct {
		pats []string
		set  bool
	}{
		{[]string{"*ignore*", "*forget*"}, true},
		{[]string{"*ignore*"}, false},
		{[]string{"*ignore*", "*akia*"}, false},
		{[]string{"*akia*", "*asia*", "*abia*", "*acca*", "*absk*"}, false},
		{[]string{"*akia*", "*asia*", "*abia*", "*acca*", "*absk*", "*ghp_*"}, true},
		{[]string{"*ignore*", "*forget*", "ignore*"}, true},
	} {
		m := newMatcher(true)
		for _, p := range tc.pats {
			m.addPattern(p)
		}
		m.gatherContains()
		if got := m.contains != nil; got != tc.set {
			t.Errorf("%q: contains set %v, want %v", tc.pats, got, tc.set)
		}
		for _, s := range []string{"please IGNORE this", "forget it", "nothing", "AKIA1234", "ignore"} {
			want := false
			for _, p := range tc.pats {
				want = want || compileWildcard(p, true).match(s)
			}
			if got := m.matchPatterns(s); got != want {
				t.Errorf("%q on %q: %v, want %v", tc.pats, s, got, want)
			}
		}
	}
}

func TestRegexStarts(t *testing.T) {
	cases := []struct {
		pattern string
		fold    bool
		want    []string // nil: no starts
	}{
		{`.*\b(ignore|forget)\s+(all\s+)?instructions\b.*`, true, []string{"forget", "ignore"}},
		{`.*(\b(AKIA|ASIA)[A-Z0-9]{16}\b|-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----|\bgh[pousr]_x+).*`, false,
			[]string{"-----BEGIN ", "AKIA", "ASIA", "gho_x", "ghp_x", "ghr_x", "ghs_x", "ghu_x"}}, // x+ begins with x
		{`.*\bBedrock[a-z-]*\s+delete.*`, true, []string{"bedrock"}},
		{`.*\bbedrock-(agent|runtime)?\s.*`, false, []string{"bedrock-"}}, // stops before the optional part
		{`.*(abc)+d.*`, false, []string{"abc"}},
		{`.*a?bcd.*`, false, []string{"abcd", "bcd"}},
		{`.*(^abc|def).*`, false, []string{"abc", "def"}},
		{`.*x*abc.*`, false, nil},        // a match may begin with x
		{`.*(abc|[a-z]+).*`, false, nil}, // one branch has no start
		{`.*(ab|cd)e.*`, false, []string{"abe", "cde"}},
		{`.*(ab|cd)[a-z].*`, false, nil},      // "ab" and "cd" are too short, 52 letters too many
		{`.*(?i:secret)-token.*`, false, nil}, // a folded literal is no exact literal
		{`abc.*`, false, nil},                 // anchored at its start already
		{`.*Ünïcode.*`, true, nil},            // folded starts must be ASCII
		{`.*Ünïcode.*`, false, []string{"Ünïcode"}},
	}
	for _, c := range cases {
		re, err := compileRegexFiltered(c.pattern, c.fold)
		if err != nil {
			t.Fatalf("%s: %v", c.pattern, err)
		}
		if !slices.Equal(re.starts, c.want) {
			t.Errorf("%s (fold %v): starts %q, want %q", c.pattern, c.fold, re.starts, c.want)
		}
		if (re.at != nil) != (c.want != nil) {
			t.Errorf("%s (fold %v): anchored regex %v with starts %q", c.pattern, c.fold, re.at, c.want)
		}
	}
}

// regexAgrees fails t unless the regex of pattern, matched at its starts,
// gives the result of the plain compiled regex on s.
func regexAgrees(t *testing.T, plain *regexp.Regexp, re *regex, s string) {
	t.Helper()
	want := plain.MatchString(s)
	got := withFolded(s, func(folded string) bool { return re.match(s, folded) })
	if got != want {
		t.Fatalf("%s (fold %v, starts %q) on %q: got %v, want %v", plain, re.fold, re.starts, s, got, want)
	}
}

// TestRegexStartsKeepResults: each regex, matched at its starts, gives the
// plain regex's result on random subjects built from pieces of the patterns,
// with word characters, non-ASCII runes and runes that fold onto ASCII ones
// next to them, so that word boundaries and context are tested at each
// start.
func TestRegexStartsKeepResults(t *testing.T) {
	regexes := []string{
		`.*\b(ignore|disregard|forget|override|bypass)\s+(all\s+|any\s+|the\s+)*(previous|prior)?\s*(instructions|rules)\b.*`,
		`.*(\b(AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b|-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----|\bgh[pousr]_[A-Za-z0-9]{36,}).*`,
		`.*\bbedrock[a-z-]*\s+(.*\s)?(delete|put)-[a-z0-9-]+.*`,
		`.*\Bignore.*`,
		`.*(^ignore|rules$).*`,
		`.*(?m:^ignore).*`,
		`.*ignore\b`,
		`.*a?ghp_.*`,
		`.*(ignore)+ the\s.*`,
		`.*Ünïcode rules.*`,
	}
	pieces := []string{"ignore", "IGNORE", "Ignore", "ıgnore", "all ", "the ", "previous ", "instructions", "rules", "AKIA",
		"akia", "ASIA", "ABCDEFGHIJKLMNOP", "0123456789ABCDEF", "-----BEGIN ", "RSA ", "PRIVATE KEY-----", "ghp_", "aghp_",
		"abcdefghijklmnopqrstuvwxyz0123456789", "bedrock", "BEDROCK-agent", " delete-", "put-agent", " ", "\n", "x", "_",
		"0", "é", "ü", "\u212a", "ſ", "Ünïcode", "ÜNÏCODE", "\xff", "\xbc"}
	rnd := rand.New(rand.NewPCG(7, 8))
	for _, p := range regexes {
		for _, fold := range []bool{false, true} {
			plain, err := compileRegex(p, fold)
			if err != nil {
				t.Fatal(err)
			}
			re, err := compileRegexFiltered(p, fold)
			if err != nil {
				t.Fatal(err)
			}
			for n := 0; n < 5000; n++ {
				var b strings.Builder
				for k := rnd.IntN(8); k >= 0; k-- {
					b.WriteString(pieces[rnd.IntN(len(pieces))])
				}
				regexAgrees(t, plain, re, b.String())
			}
		}
	}
}

// FuzzRegexStarts: for any pattern and subject, matching at the starts
// gives the plain regex's result, case-sensitive and not.
func FuzzRegexStarts(f *testing.F) {
	f.Add(`.*\b(ignore|forget)\s+instructions\b.*`, "please IGNORE  instructions")
	f.Add(`.*(\b(AKIA|ASIA)[A-Z0-9]{16}\b|\bgh[pousr]_[a-z]{3,}).*`, "xAKIA0123456789ABCDEF ghp_abc")
	f.Add(`.*(^abc|def$).*`, "abcdef")
	f.Add(`.*\Bab?cd.*`, "é\u212aabcd")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if len(pattern) > 256 || len(s) > 4096 {
			return
		}
		for _, fold := range []bool{false, true} {
			plain, err := compileRegex(pattern, fold)
			if err != nil {
				return
			}
			re, err := compileRegexFiltered(pattern, fold)
			if err != nil {
				t.Fatalf("%q compiles plain but not filtered: %v", pattern, err)
			}
			regexAgrees(t, plain, re, s)
		}
	})
}

// FuzzContainsSetUnfolded: for any set of ASCII literals and any subject
// without ſ or K, searching the subject as it is finds a literal exactly
// when searching its folded form does.
func FuzzContainsSetUnfolded(f *testing.F) {
	f.Add("ignore\nsystem prompt\nakia", "Please IGNORE the SYSTEM Prompt")
	f.Add("ab\n_x\n@@", "AB `X [[ \x7fx é")
	f.Add("abcd", "ABC\u00c9D abcd")
	f.Fuzz(func(t *testing.T, lits, s string) {
		var set []string
		for _, l := range strings.Split(lits, "\n") {
			if l = foldString(l); len(l) >= 2 && asciiString(l) {
				set = append(set, l)
			}
		}
		if len(set) == 0 || foldsOntoASCII(s) {
			return
		}
		c := newContainsSet(set)
		if got, want := c.inUnfolded(s), c.in(foldString(s)); got != want {
			t.Fatalf("literals %q, subject %q: inUnfolded = %v, in(folded) = %v", set, s, got, want)
		}
	})
}
