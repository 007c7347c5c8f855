package redact

import (
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestMask(t *testing.T) {
	cases := []struct {
		name, in string
		want     string
		n        int
	}{
		{"access key", "use AKIAIOSFODNN7EXAMPLE now", "use AKIA**************** now", 1},
		{"temporary key", "ASIAY34FZKBOKMUTVV7A", "ASIA****************", 1},
		{"not a key: too short", "AKIAIOSFODNN7", "AKIAIOSFODNN7", 0},
		{"secret key", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_access_key = ****************************************", 1},
		{"bedrock api key", "key ABSKQmVkcm9ja0FQSUtleS1hYmNkZWZnaGlqa2xtbm9w", "key ABSK" + strings.Repeat("*", 40), 1},
		{"bedrock api key long form", "bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t", "bedr" + strings.Repeat("*", 40), 1},
		{"github token", "ghp_0123456789abcdefghijABCDEFGHIJ012345", "ghp_" + strings.Repeat("*", 36), 1},
		{"bearer", "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abc", "Authorization: Bearer " + strings.Repeat("*", 24), 1},
		{"private key", "x -----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY----- y", "x -----BEGIN RSA PRIVATE KEY-----[masked] y", 1},
		{"two", "AKIAIOSFODNN7EXAMPLE and ASIAY34FZKBOKMUTVV7A", "AKIA**************** and ASIA****************", 2},
		{"nothing", "hello world", "hello world", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, n := Mask(c.in)
			if got != c.want || n != c.n {
				t.Fatalf("Mask(%q) = %q, %d; want %q, %d", c.in, got, n, c.want, c.n)
			}
		})
	}
}

func TestTruncateRunes(t *testing.T) {
	s := strings.Repeat("é", 10)
	got, cut := Truncate(s, 3)
	if got != "ééé" || !cut {
		t.Fatalf("Truncate = %q %v", got, cut)
	}
	if got, cut := Truncate("abc", 3); got != "abc" || cut {
		t.Fatalf("Truncate exact = %q %v", got, cut)
	}
}

func TestExcerptMasksBeforeCutting(t *testing.T) {
	// The key straddles the cut: masking first means no part of it leaks.
	s := strings.Repeat("a", 10) + " AKIAIOSFODNN7EXAMPLE"
	got, cut, n := Excerpt(s, 20)
	if !cut || n != 1 || strings.Contains(got, "IOSF") {
		t.Fatalf("Excerpt = %q cut=%v n=%d", got, cut, n)
	}
}

func FuzzMask(f *testing.F) {
	f.Add("AKIAIOSFODNN7EXAMPLE -----BEGIN PRIVATE KEY-----")
	f.Add("Bearer abcdefghijklmnopqrstu")
	f.Add("é aws_secret=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY xAKIAIOSFODNN7EXAMPLE ſecret")
	f.Fuzz(func(t *testing.T, s string) {
		out, _ := Mask(s)
		for _, fd := range Find(out) {
			if fd.Kind == AWSAccessKeyID {
				t.Fatalf("masked output still holds an access key: %q", out)
			}
		}
		Excerpt(s, 16)
		if got, want := find(s, true), find(s, false); !slices.Equal(got, want) {
			t.Fatalf("%q: %v with the literal tests, %v without", s, got, want)
		}
	})
}

// TestLiteralTestsKeepFindings: the literal tests before each pattern never
// hide a secret the pattern finds, in any case and with runes that fold
// onto ASCII letters.
func TestLiteralTestsKeepFindings(t *testing.T) {
	pieces := []string{"AKIAIOSFODNN7EXAMPLE", "ASIAIOSFODNN7EXAMPL3", "akiaiosfodnn7example", " ", "\n", "key=",
		"aws_secret_access_key = ", "AWS_SECRET_ACCESS_KEY: '", "SecretAccessKey=", "ſecret_access_key=",
		"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "Bearer ", "BEARER ", "bearer\t", "eyJhbGciOiJIUzI1NiJ9.abcdefghij",
		"-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----", "-----BEGIN PRIVATE KEY-----",
		"ghp_abcdefghijklmnopqrstuvwxyz0123456789", "ghs_", "gho_", "ghu_", "ghr_", "ghx_", "gh", "_", "abcdefghijklmnopqrstuvwxyz0123456789",
		"github_pat_11ABCDEFG0123456789_abcdefghij", "ABSKQmVkcm9ja0FQSUtleS1hYmNkZWY=",
		"bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t", "é", "\u212a", "plain words", "x", "ü", "\xbc", "aws_secret=",
		"AWS_ſECRET_ACCESS_KEY=", "bearer ſ", "-----END PRIVATE KEY-----"}
	seed := uint64(1)
	next := func(n int) int {
		seed = seed*6364136223846793005 + 1442695040888963407
		return int(seed>>33) % n
	}
	for i := 0; i < 20000; i++ {
		var b strings.Builder
		for k := next(6); k >= 0; k-- {
			b.WriteString(pieces[next(len(pieces))])
		}
		s := b.String()
		got, want := find(s, true), find(s, false)
		if len(got) != len(want) {
			t.Fatalf("%q: %v with the literal tests, %v without", s, got, want)
		}
		for j := range got {
			if got[j] != want[j] {
				t.Fatalf("%q: %v with the literal tests, %v without", s, got, want)
			}
		}
	}
}

// TestCandidates: the one-pass literal test names exactly the patterns one
// of whose literals occurs (case-insensitively for the case-insensitive
// ones), and every case-insensitive pattern once the text is not ASCII,
// wherever its first non-ASCII byte is.
func TestCandidates(t *testing.T) {
	bit := func(k Kind) uint64 {
		for i, p := range patterns {
			if p.kind == k {
				return 1 << i
			}
		}
		t.Fatalf("no pattern %s", k)
		return 0
	}
	for _, tc := range []struct {
		s        string
		want     uint64
		oddFolds bool
	}{
		{"", 0, false},
		{"plain words", 0, false},
		{"AKIA", bit(AWSAccessKeyID), false},
		{"akia", 0, false},
		{"xxAKIA", bit(AWSAccessKeyID), false},
		{"my SECRET and Bearer", bit(AWSSecretKey) | bit(BearerToken), false},
		{"token ghs_ and -----BEGIN ", bit(GitHubToken) | bit(PrivateKey), false},
		{"é", 0, false},
		{"plain words é", 0, false},
		{"é Secret", bit(AWSSecretKey), false},
		{"ſ", lits.folded, true},
		{"plain \u212a words", lits.folded, true},
		{"AKIA é", bit(AWSAccessKeyID), false},
		{"AKIA ſecret", bit(AWSAccessKeyID) | lits.folded, true},
	} {
		got, odd := lits.candidates(tc.s)
		if got != tc.want || odd != tc.oddFolds {
			t.Errorf("candidates(%q) = %b, %v; want %b, %v", tc.s, got, odd, tc.want, tc.oddFolds)
		}
	}
}

// TestFoldOntoASCII: foldOntoASCII lists exactly the runes beyond ASCII
// whose case-folding orbit holds an ASCII letter.
func TestFoldOntoASCII(t *testing.T) {
	var want []string
	for r := rune(utf8.RuneSelf); r <= unicode.MaxRune; r++ {
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < utf8.RuneSelf {
				want = append(want, string(r))
				break
			}
		}
	}
	if !slices.Equal(foldOntoASCII, want) {
		t.Errorf("foldOntoASCII = %q, want %q", foldOntoASCII, want)
	}
}

// BenchmarkFindEnglish: Find on a 5 KB English prompt that holds no secret.
func BenchmarkFindEnglish(b *testing.B) {
	s := strings.Repeat("Please summarise the quarterly report for the sales team, and draft a short email to the "+
		"regional managers asking them to send their updated forecasts by Friday. Keep the tone friendly. ", 28)
	b.SetBytes(int64(len(s)))
	for i := 0; i < b.N; i++ {
		Find(s)
	}
}

// TestMaskShowsNoNewSecret: masking a secret puts a word boundary after it,
// and what ran on from it can then read as a secret; Mask masks that too,
// and its output holds no secret.
func TestMaskShowsNoNewSecret(t *testing.T) {
	zeros := strings.Repeat("0", 40)
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"Aws_seCret=" + zeros + "ABIA0000000000000000", 2},                    // found by FuzzMask
		{"aws_secret=" + zeros + strings.Repeat("ABIA0000000000000000", 5), 1}, // no key ends at a boundary
		{"aws_secret=" + zeros + "bearer abcdefghijklmnopqrstuvwxyz", 2},
		{"aws_secret=" + zeros + "ghp_" + strings.Repeat("a", 36) + " and AKIAIOSFODNN7EXAMPLE", 3},
		{"aws_secret=" + zeros + "xABIA0000000000000000", 1}, // not at the boundary: no key
	} {
		out, n := Mask(tc.in)
		if n != tc.want {
			t.Errorf("Mask(%q) masked %d, want %d: %q", tc.in, n, tc.want, out)
		}
		if fs := Find(out); len(fs) > 0 {
			t.Errorf("Mask(%q) = %q, which still holds %v", tc.in, out, fs)
		}
	}
}
