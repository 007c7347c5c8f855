package eql

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/bedrockwatch/bedrockwatch/schemas"
)

const (
	Y = triYes
	N = triNo
	U = triNull
)

// evalCase is one condition evaluated against bedrockEvent(). want is the
// three-valued result; the test also checks that Match agrees and that
// `not (COND)` matches exactly when want is N.
type evalCase struct {
	cond string
	want tri
}

func runEvalCases(t *testing.T, cases []evalCase) {
	t.Helper()
	e := bedrockEvent()
	for _, tc := range cases {
		cond := expand(tc.cond)
		t.Run(tc.cond, func(t *testing.T) {
			p := mustCompile(t, "any where "+cond)
			if got := p.cond.test(e); got != tc.want {
				t.Errorf("got %v, want %v", triName(got), triName(tc.want))
			}
			if got := p.Match(e); got != (tc.want == Y) {
				t.Errorf("Match = %v", got)
			}
			np := mustCompile(t, "any where not ("+cond+")")
			if got := np.Match(e); got != (tc.want == N) {
				t.Errorf("not (…): Match = %v, want %v", got, tc.want == N)
			}
		})
	}
}

func triName(t tri) string { return [...]string{"no", "yes", "null"}[t] }

func TestCompareOperators(t *testing.T) {
	runEvalCases(t, []evalCase{
		// == and != are case-sensitive.
		{`event.action == "InvokeModel"`, Y},
		{`event.action == "invokemodel"`, N},
		{`event.action != "invokemodel"`, Y},
		{`event.action != "InvokeModel"`, N},
		{`"InvokeModel" == event.action`, Y},
		{`event.action == "Invoke*"`, N}, // no wildcards in ==
		// Missing field against a literal: false, its negation true.
		{`aws.cloudtrail.error_code == "x"`, N},
		{`aws.cloudtrail.error_code != "x"`, Y},
		{`aws.cloudtrail.error_code < "x"`, N},
		{`gen_ai.usage.completion_tokens > 1`, N},
		// null literal.
		{`aws.cloudtrail.error_code == null`, Y},
		{`aws.cloudtrail.error_code != null`, N},
		{`null == aws.cloudtrail.error_code`, Y},
		{`event.action == null`, N},
		{`event.action != null`, Y},
		{`null == null`, Y},
		{`null != null`, N},
		{`$empty == null`, Y},
		{`$nulls == null`, Y},
		{`$nested != null`, Y},
		// Numbers.
		{`gen_ai.usage.prompt_tokens > 100`, Y},
		{`gen_ai.usage.prompt_tokens >= 120`, Y},
		{`gen_ai.usage.prompt_tokens < 120`, N},
		{`gen_ai.usage.prompt_tokens <= 120`, Y},
		{`gen_ai.usage.prompt_tokens == 120`, Y},
		{`gen_ai.usage.prompt_tokens == 120.0`, Y},
		{`gen_ai.usage.prompt_tokens > -1`, Y},
		// Numbers and strings compare as numbers when the string is one.
		{`gen_ai.usage.prompt_tokens == "120"`, Y},
		{`gen_ai.usage.prompt_tokens == "120.0"`, Y},
		{`gen_ai.usage.prompt_tokens == "abc"`, N},
		{`gen_ai.usage.prompt_tokens != "abc"`, Y},
		{`gen_ai.usage.prompt_tokens < "abc"`, N},
		{`$str5 == 5`, Y},
		{`$str5 < 10`, Y},
		{`$str5 > "10"`, Y}, // two strings: bytewise
		{`$count == 5`, Y},
		// Strings order bytewise.
		{`"a" < "b"`, Y},
		{`"B" < "a"`, Y},
		{`event.action > "Converse"`, Y},
		// Booleans.
		{`$flag == true`, Y},
		{`$flag != false`, Y},
		{`$flag == "true"`, Y},
		{`$flag == 1`, N},
		{`$flag`, Y},
		{`gen_ai.guardrail.intervened`, N}, // null on CloudTrail: two-valued
		// Objects equal nothing.
		{`$nested == "x"`, N},
		{`$nested != "x"`, Y},
		// Multi-valued fields: any element.
		{`$tags == "prod"`, Y},
		{`$tags == "Team-A"`, Y},
		{`$tags != "prod"`, N},
		{`$tags != "dev"`, Y},
		{`$nums > 2`, Y},
		{`$nums > 3`, N},
		{`$nums == 2`, Y},
		{`"prod" == $tags`, Y},
		{`4 > $nums`, Y},
		{`$tags == $tags`, Y},
		{`$nums >= $count`, N},
		{`$empty == "x"`, N},
		{`$empty != "x"`, Y},
		// Field against field, functions: null propagates.
		{`event.action == event.action`, Y},
		{`event.action == event.provider`, N},
		{`event.action == aws.cloudtrail.error_code`, U},
		{`event.action != aws.cloudtrail.error_code`, U},
		{`length(aws.cloudtrail.error_code) > 0`, U},
		{`length(aws.cloudtrail.error_code) != 3`, U},
		{`length(event.action) == 11`, Y},
		{`1 == 1`, Y},
		{`1 < 1`, N},
	})
}

func TestPatternOperators(t *testing.T) {
	runEvalCases(t, []evalCase{
		{`event.action : "invokemodel"`, Y},
		{`event.action : "INVOKE*"`, Y},
		{`event.action : "*model"`, Y},
		{`event.action : "invoke?odel"`, Y},
		{`event.action : "Invoke"`, N},
		{`event.action : "Invoke?"`, N},
		{`event.action : ("converse", "invokemodel")`, Y},
		{`event.action : ("converse", "list*")`, N},
		{`aws.cloudtrail.error_code : "x"`, N},
		{`aws.cloudtrail.error_code : "*"`, N},
		{`aws.cloudtrail.error_code : null`, Y},
		{`$tags : "TEAM-*"`, Y},
		{`$tags : ("dev", "PROD")`, Y},
		{`gen_ai.usage.prompt_tokens : 120`, Y},
		{`gen_ai.usage.prompt_tokens : "12*"`, Y},
		{`gen_ai.usage.prompt_tokens : "120"`, Y},
		{`$unicode : "straße kelvin"`, Y},
		{`$unicode : "STRASSE*"`, N},             // simple folding only: ß is not ss
		{`$unicode : "*\u212Aelvin"`, Y},         // the Kelvin sign folds to k
		{`$path : "c:\\windows\\*\\CMD.EXE"`, Y}, // backslash is literal
		{`event.action like "Invoke*"`, Y},
		{`event.action like "invoke*"`, N},
		{`event.action like~ "invoke*"`, Y},
		{`event.action like ("x", "*Model")`, Y},
		{`event.action like~ ("x", "*MODEL")`, Y},
		{`event.action like "InvokeModel"`, Y},
		{`event.action regex "Invoke.*"`, Y},
		{`event.action regex "Invoke"`, N}, // whole-string match
		{`event.action regex "nvoke.*"`, N},
		{`event.action regex "invoke.*"`, N},
		{`event.action regex~ "invoke.*"`, Y},
		{`event.action regex ("a", "In.*l")`, Y},
		{`user_agent.original regex "aws-cli/2\\.[0-9]+\\.[0-9]+ .*"`, Y},
		{`event.action regex "Invoke|Model"`, N}, // alternation is grouped before anchoring
		{`aws.cloudtrail.error_code regex ".*"`, N},
		{`length(aws.cloudtrail.error_code) : "1"`, U},
	})
}

func TestInOperator(t *testing.T) {
	runEvalCases(t, []evalCase{
		{`event.action in ("InvokeModel", "Converse")`, Y},
		{`event.action in ("invokemodel")`, N},
		{`event.action in~ ("invokemodel", "x")`, Y},
		{`event.action not in ("Converse")`, Y},
		{`event.action not in ("InvokeModel")`, N},
		{`event.action not in~ ("INVOKEMODEL")`, N},
		{`event.action in ("Invoke*")`, N}, // no wildcards in in
		{`aws.cloudtrail.error_code in ("x")`, N},
		{`aws.cloudtrail.error_code not in ("x")`, Y},
		{`aws.cloudtrail.error_code in ("x", null)`, Y},
		{`aws.cloudtrail.error_code not in ("x", null)`, N},
		{`gen_ai.usage.prompt_tokens in (1, 120)`, Y},
		{`gen_ai.usage.prompt_tokens in ("120")`, Y},
		{`gen_ai.usage.prompt_tokens in (1, 2)`, N},
		{`$str5 in (5)`, Y},
		{`$str5 in ("05")`, N},
		{`$tags in ("dev", "prod")`, Y},
		{`$tags not in ("prod")`, N},
		{`$tags in~ ("team-a")`, Y},
		{`$flag in (true)`, Y},
		{`$flag in (false)`, N},
		{`event.action in (event.provider, "InvokeModel")`, Y},
		{`event.action in (concat("Invoke", "Model"))`, Y},
		{`event.action in~ (concat("INVOKE", "model"))`, Y},
		{`length(aws.cloudtrail.error_code) in (1, 2)`, U},
		{`length(aws.cloudtrail.error_code) not in (1, 2)`, U},
		{`event.action in ("a", "b", "c", "d", "e", "f", "g", "h", "i", "InvokeModel")`, Y},
		{`event.action in~ ("a", "b", "c", "d", "e", "f", "g", "h", "i", "INVOKEMODEL")`, Y},
		{`event.action in~ ("a", "b", "c", "d", "e", "f", "g", "h", "i", "j")`, N},
	})
}

func TestLogic(t *testing.T) {
	runEvalCases(t, []evalCase{
		{`event.action == "InvokeModel" and event.outcome == "success"`, Y},
		{`event.action == "InvokeModel" and event.outcome == "failure"`, N},
		{`event.action == "x" or event.outcome == "success"`, Y},
		{`event.action == "x" or event.outcome == "x"`, N},
		{`true`, Y},
		{`false`, N},
		{`null`, U},
		{`not true`, N},
		{`not not true`, Y},
		// A null leaf: unknown alone and under not; and/or are two-valued.
		{`length(aws.cloudtrail.error_code) > 0 or event.action == "InvokeModel"`, Y},
		{`length(aws.cloudtrail.error_code) > 0 and true`, N},
		{`length(aws.cloudtrail.error_code) > 0 or false`, N},
		{`not (length(aws.cloudtrail.error_code) > 0 or false)`, Y},
		{`not length(aws.cloudtrail.error_code) > 0`, U},
		{`not not length(aws.cloudtrail.error_code) > 0`, U},
		// A field-against-literal leaf on a missing field is two-valued.
		{`not aws.cloudtrail.error_code : "x"`, Y},
		{`not (aws.cloudtrail.error_code == "x" and true)`, Y},
		// Precedence: not binds tighter than and, and tighter than or.
		{`not event.action == "x" and event.outcome == "success"`, Y},
		{`event.outcome == "x" and event.action == "x" or true`, Y},
		{`event.outcome == "x" and (event.action == "x" or true)`, N},
	})
}

func TestFunctions(t *testing.T) {
	runEvalCases(t, []evalCase{
		{`startsWith(event.action, "Invoke")`, Y},
		{`startsWith(event.action, "invoke")`, N},
		{`startsWith~(event.action, "invoke")`, Y},
		{`startsWith(event.action, "x", "Inv")`, Y},
		{`startsWith(aws.cloudtrail.error_code, "x")`, N},
		{`startsWith("abc", aws.cloudtrail.error_code)`, U},
		{`startsWith(event.action, event.provider)`, N},
		{`startsWith("", "")`, Y},
		{`StartsWith(event.action, "Inv")`, Y}, // names are case-insensitive
		{`endsWith(event.action, "Model")`, Y},
		{`endsWith(event.action, "MODEL")`, N},
		{`endsWith~(event.action, "MODEL")`, Y},
		{`endsWith~($unicode, "\u212Aelvin")`, Y},
		{`stringContains(user_agent.original, "cli")`, Y},
		{`stringContains(user_agent.original, "CLI")`, N},
		{`stringContains~(user_agent.original, "PYTHON")`, Y},
		{`stringContains(user_agent.original, "")`, N},
		{`stringContains($tags, "rod")`, Y},
		{`stringContains(concat(event.action, aws.cloudtrail.error_code), "x")`, U},
		{`wildcard(event.action, "Inv*")`, Y},
		{`wildcard(event.action, "inv*")`, N},
		{`wildcard~(event.action, "inv*", "x")`, Y},
		{`wildcard(aws.cloudtrail.error_code, "*")`, N},
		{`cidrMatch(source.ip, "10.0.0.0/8")`, Y},
		{`cidrMatch(source.ip, "192.168.0.0/16")`, N},
		{`cidrMatch(source.ip, "192.168.0.0/16", "10.1.0.0/16")`, Y},
		{`cidrMatch(source.ip, "10.1.2.3")`, Y},
		{`cidrMatch($ips, "192.168.0.0/16")`, Y},
		{`cidrMatch($ipsStr, "10.0.0.1")`, Y},
		{`cidrMatch($ipsStr, "203.0.113.0/24")`, Y},
		{`cidrMatch($host, "0.0.0.0/0")`, N},
		{`cidrMatch(aws.cloudtrail.error_code, "10.0.0.0/8")`, N},
		{`cidrMatch("2001:db8::1", "2001:db8::/32")`, Y},
		{`cidrMatch("::ffff:10.0.0.1", "10.0.0.0/8")`, Y},
		{`cidrMatch("10.0.0.1", "::ffff:10.0.0.0/104")`, Y},
		{`cidrMatch("256.0.0.1", "0.0.0.0/0")`, N},
		{`length("explorer.exe") == 12`, Y},
		{`length("Straße") == 6`, Y},
		{`length("") == 0`, Y},
		{`length($tags) == null`, Y},
		{`concat("a", 1, true, 2.5) == "a1true2.5"`, Y},
		{`concat(event.action, "!") == "InvokeModel!"`, Y},
		{`concat(event.action, aws.cloudtrail.error_code) == null`, Y},
		{`substring("start regsvr32.exe", 6) == "regsvr32.exe"`, Y},
		{`substring("start regsvr32.exe", 0, 5) == "start"`, Y},
		{`substring("start regsvr32.exe", 6, 14) == "regsvr32"`, Y},
		{`substring("start regsvr32.exe", -4) == ".exe"`, Y},
		{`substring("start regsvr32.exe", -4, -1) == ".ex"`, Y},
		{`substring("start regsvr32.exe", 30) == ""`, Y},
		{`substring("start regsvr32.exe", 5, 2) == ""`, Y},
		{`substring("Straße", 4, 6) == "ße"`, Y},
		{`substring("abc", -10, 1) == "a"`, Y},
		{`number("1337") == 1337`, Y},
		{`number("42.5") == 42.5`, Y},
		{`number("deadbeef", 16) == 3735928559`, Y},
		{`number("0xdeadbeef") == 3735928559`, Y},
		{`number("0xDEADBEEF", 16) == 3735928559`, Y},
		{`number("  -1337 ") == -1337`, Y},
		{`number("+1337") == 1337`, Y},
		{`number("1337", null) == 1337`, Y},
		{`number("777", 8) == 511`, Y},
		{`number("foo") == null`, Y},
		{`number("") == null`, Y},
		{`number("inf") == null`, Y},
		{`number($str5) + 1 == 6`, Y},
		{`string(42) == "42"`, Y},
		{`string(42.5) == "42.5"`, Y},
		{`string(true) == "true"`, Y},
		{`string(null) == null`, Y},
		{`indexOf($domain, "d") == 3`, Y},
		{`indexOf($domain, "D") == null`, Y},
		{`indexOf~($domain, "D") == 3`, Y},
		{`indexOf($domain, ".") == 9`, Y},
		{`indexOf($domain, ".", 9) == 9`, Y},
		{`indexOf($domain, ".", 10) == 17`, Y},
		{`indexOf($domain, ".", -6) == 9`, Y},
		{`indexOf($domain, ".", 30) == null`, Y},
		{`indexOf("", "") == 0`, Y},
		{`indexOf($domain, "", 9) == 9`, Y},
		{`indexOf("Straße.x", ".") == 6`, Y},
		{`between($path, "System32\\", ".exe") == "cmd"`, Y},
		{`between($path, "system32\\", ".exe") == ""`, Y},
		{`between~($path, "system32\\", ".EXE") == "cmd"`, Y},
		{`between($path, "\\", "\\", false) == "Windows"`, Y},
		{`between($path, "\\", "\\", true) == "Windows\\System32"`, Y},
		{`between("", "", "") == ""`, Y},
		{`between(aws.cloudtrail.error_code, "a", "b") == null`, Y},
		{`add(4, 5) == 9`, Y},
		{`add(4, 0.5) == 4.5`, Y},
		{`add(null, 4) == null`, Y},
		{`subtract(10.5, 0.5) == 10`, Y},
		{`multiply(0.25, 2) == 0.5`, Y},
		{`divide(4, 3) == 1`, Y},
		{`divide(4, 3.0) > 1.3`, Y},
		{`divide(-4, 3) == -1`, Y},
		{`divide(4, 0) == null`, Y},
		{`modulo(10, 6) == 4`, Y},
		{`modulo(10, -6) == 4`, Y},
		{`modulo(-10, -6) == -4`, Y},
		{`modulo(10, 0) == null`, Y},
		{`4 / 3 == 1`, Y},
		{`7 % 4 == 3`, Y},
		{`2 + 3 * 4 == 14`, Y},
		{`(2 + 3) * 4 == 20`, Y},
		{`10 - 4 - 3 == 3`, Y},
		{`-gen_ai.usage.prompt_tokens == -120`, Y},
		{`gen_ai.usage.prompt_tokens * 2 + 1 == 241`, Y},
		{`gen_ai.usage.prompt_tokens / 7 == 17`, Y},
		{`gen_ai.usage.prompt_tokens / 7.0 > 17`, Y},
		{`gen_ai.usage.completion_tokens + 1 > 0`, U},
		{`$tags + 1 == null`, Y},
	})
}

func TestCategory(t *testing.T) {
	endpoint := &schemas.Event{Dataset: schemas.DatasetEndpoint, Category: "process", ProcessName: "bash",
		CommandLine: "aws bedrock list-foundation-models", HostName: "dev-1",
		Raw: []byte(`{"process":{"parent":{"name":"zsh"}},"event":{"category":["process"]}}`)}
	ct := bedrockEvent()
	tests := []struct {
		query string
		e     *schemas.Event
		want  bool
	}{
		{`any where true`, ct, true},
		{`any where true`, endpoint, true},
		{`process where true`, ct, false},
		{`process where true`, endpoint, true},
		{`PROCESS where true`, endpoint, true},
		{`"process" where true`, endpoint, true},
		{`network where true`, endpoint, false},
		{`process where process.command_line : "aws bedrock *"`, endpoint, true},
		{`process where process.parent.name == "zsh"`, endpoint, true},
		{`process where process.parent.name == "bash"`, endpoint, false},
	}
	for _, tt := range tests {
		if got := mustCompile(t, tt.query).Match(tt.e); got != tt.want {
			t.Errorf("%s on %s: got %v, want %v", tt.query, tt.e.Dataset, got, tt.want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		query     string
		line, col int
		msg       string
	}{
		{`any where "x"`, 1, 11, `condition must be boolean, found string "x"`},
		{`any where 5`, 1, 11, `condition must be boolean`},
		{`any where length(a)`, 1, 11, `condition must be boolean, found length(a) (a number)`},
		{`any where a + 1`, 1, 11, `condition must be boolean`},
		{`any where a regex "("`, 1, 19, `invalid regex "("`},
		{`any where a regex ("x", "[")`, 1, 25, `invalid regex "["`},
		{`any where cidrMatch(a, "10.0.0.0/33")`, 1, 24, `invalid CIDR block "10.0.0.0/33"`},
		{`any where cidrMatch(a, "nope")`, 1, 24, `invalid CIDR block`},
		{`any where cidrMatch(a, b)`, 1, 24, `cidrMatch needs string literal CIDR blocks`},
		{`any where wildcard(a, b)`, 1, 23, `wildcard needs string literal patterns`},
		{`any where a like 5`, 1, 18, `like needs string patterns, found 5`},
		{`any where a regex~ true`, 1, 20, `regex~ needs string patterns`},
		{`any where a < null`, 1, 11, `only == and != can compare with null`},
		{`any where a < true`, 1, 11, `< cannot order booleans`},
		{`any where a + "x" > 1`, 1, 15, `+ needs numbers, found string "x"`},
		{`any where -"x" > 1`, 1, 12, `- needs numbers`},
		{`any where startsWith(a, 5)`, 1, 25, `startsWith needs a string, found number 5`},
		{`any where length(5) > 1`, 1, 18, `length needs a string`},
		{"any where number(a, 99) == 1", 1, 21, `the base must be an integer literal from 2 to 36`},
		{"any where number(a, b) == 1", 1, 21, `the base must be an integer literal`},
		{"any where between(a, b, c, 5) == 1", 1, 28, `greedy must be a boolean`},
		{"any where substring(a, \"x\") == 1", 1, 24, `substring needs numbers`},
		{"any where\n  a regex \"(\"\n  and b regex \"[\"", 2, 11, `invalid regex`},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			q := mustEvent(t, tt.query)
			_, err := CompileCondition(q)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a *SyntaxError", err)
			}
			if se.Line != tt.line || se.Col != tt.col || !strings.Contains(se.Msg, tt.msg) {
				t.Errorf("got %v, want line %d, column %d: …%s…", se, tt.line, tt.col, tt.msg)
			}
		})
	}
}

func TestCompileErrorsJoined(t *testing.T) {
	q := mustEvent(t, "any where a regex \"(\" and cidrMatch(b, \"x\") and c like 5")
	_, err := CompileCondition(q)
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 joined errors, got %q", err)
	}
	for i, col := range []string{"column 19", "column 40", "column 56"} {
		if !strings.Contains(lines[i], col) {
			t.Errorf("error %d = %q, want %s", i, lines[i], col)
		}
	}
	sq := mustParse(t, "sequence [any where a regex \"(\"] [any where 5]").(*SequenceQuery)
	if _, err := CompileSequence(sq); err == nil || strings.Count(err.Error(), "\n") != 1 {
		t.Errorf("sequence: want two joined errors, got %v", err)
	}
}

func TestCompileValue(t *testing.T) {
	x, err := ParseExpr("length(gen_ai.request.model.id) + 1")
	if err != nil {
		t.Fatal(err)
	}
	g, err := CompileValue(x)
	if err != nil {
		t.Fatal(err)
	}
	if v := g(bedrockEvent()); v.Kind != schemas.Number || v.Num != 40 {
		t.Errorf("got %+v, want 40", v)
	}
	if v := g(&schemas.Event{}); !v.IsNull() {
		t.Errorf("got %+v on an empty event, want null", v)
	}
	x, _ = ParseExpr(`event.action : "invoke*"`)
	g, _ = CompileValue(x)
	if v := g(bedrockEvent()); v.Kind != schemas.Bool || !v.Bool {
		t.Errorf("got %+v, want true", v)
	}
	x, _ = ParseExpr(`"a" + 1`)
	if _, err := CompileValue(x); err == nil {
		t.Error("want a type error")
	}
}

func TestSequenceCompile(t *testing.T) {
	q := mustParse(t, `sequence by user.id with maxspan=1h
  [any where event.action == "ListFoundationModels"] by source.ip
  [any where event.action : "Invoke*"] by source.ip
until [any where event.action == "DeleteModel"] by source.ip`).(*SequenceQuery)
	s, err := CompileSequence(q)
	if err != nil {
		t.Fatal(err)
	}
	if s.Until == nil || len(s.Until.Keys) != 2 || s.Until.KeyFields[1] != "source.ip" {
		t.Fatalf("until = %+v", s.Until)
	}
	e := bedrockEvent()
	k, ok := s.Steps[1].Key(e)
	if !ok || k != "34:arn:aws:iam::123456789012:user/dev8:10.1.2.3" {
		t.Errorf("key = %q, %v", k, ok)
	}
	if !s.Steps[1].Match.Match(e) || s.Steps[0].Match.Match(e) {
		t.Error("step predicates")
	}
	e.SourceIP = ""
	if _, ok := s.Steps[1].Key(e); ok {
		t.Error("null key: want ok=false")
	}
	// A hand-built query with mismatched keys is rejected.
	q.Steps[0].By = nil
	if _, err := CompileSequence(q); err == nil {
		t.Error("mismatched join keys compiled")
	}
	if _, err := CompileSequence(&SequenceQuery{Steps: q.Steps[:1]}); err == nil {
		t.Error("one-step sequence compiled")
	}
}

// TestDataset: a predicate reports the dataset a top-level conjunct
// data_stream.dataset == "…" requires, and nothing for conditions that do
// not require one (or, |, !=, :, in, not, a field on the right, an empty
// literal); Match is then false on events of every other dataset and of
// none, whatever the rest of the condition. A sequence reports the dataset
// only when every step and the until query require the same one.
func TestDataset(t *testing.T) {
	for _, tt := range []struct{ src, want string }{
		{`any where data_stream.dataset == "aws.cloudtrail"`, "aws.cloudtrail"},
		{`any where data_stream.dataset == "aws.cloudtrail" and event.action == "InvokeModel"`, "aws.cloudtrail"},
		{`any where event.action == "InvokeModel" and (true and data_stream.dataset == "x.y")`, "x.y"},
		{`any where true and data_stream.dataset == "a" and data_stream.dataset == "b"`, "a"},
		{`process where event.outcome != null and data_stream.dataset == "endpoint.process"`, "endpoint.process"},
		{`any where data_stream.dataset == "aws.cloudtrail" or event.action == "InvokeModel"`, ""},
		{`any where data_stream.dataset != "aws.cloudtrail"`, ""},
		{`any where not data_stream.dataset == "aws.cloudtrail"`, ""},
		{`any where data_stream.dataset : "aws.cloudtrail"`, ""},
		{`any where data_stream.dataset in ("aws.cloudtrail")`, ""},
		{`any where "aws.cloudtrail" == data_stream.dataset`, ""},
		{`any where data_stream.dataset == ""`, ""},
		{`any where event.dataset == "aws.cloudtrail"`, ""},
	} {
		p := mustCompile(t, tt.src)
		if got := p.Dataset(); got != tt.want {
			t.Errorf("%s: Dataset() = %q, want %q", tt.src, got, tt.want)
		}
		if tt.want == "" {
			continue
		}
		for _, ds := range []string{"", schemas.DatasetCloudTrail, schemas.DatasetInvocation, schemas.DatasetEndpoint, "x.y", "a", "b", "AWS.CLOUDTRAIL"} {
			if ds == tt.want {
				continue
			}
			for _, e := range []*schemas.Event{bedrockEvent(), cloudTrail("InvokeModel", "success", "AKIA"), {}} {
				e.Dataset = ds
				e.Category = "process"
				if p.Match(e) {
					t.Errorf("%s matched an event of dataset %q", tt.src, ds)
				}
			}
		}
	}

	steps := func(src string) *Sequence {
		t.Helper()
		s, err := CompileSequence(mustParse(t, src).(*SequenceQuery))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, tt := range []struct{ src, want string }{
		{`sequence [any where data_stream.dataset == "a" and event.action == "X"] [any where data_stream.dataset == "a"]`, "a"},
		{`sequence [any where data_stream.dataset == "a"] [any where data_stream.dataset == "a"] until [any where data_stream.dataset == "a"]`, "a"},
		{`sequence [any where data_stream.dataset == "a"] [any where data_stream.dataset == "b"]`, ""},
		{`sequence [any where data_stream.dataset == "a"] [any where event.action == "X"]`, ""},
		{`sequence [any where data_stream.dataset == "a"] [any where data_stream.dataset == "a"] until [any where event.action == "X"]`, ""},
		{`sequence [any where data_stream.dataset == "a"] [any where data_stream.dataset == "a"] until [any where data_stream.dataset == "b"]`, ""},
	} {
		if got := steps(tt.src).Dataset(); got != tt.want {
			t.Errorf("%s: Dataset() = %q, want %q", tt.src, got, tt.want)
		}
	}
}

func TestKeyIsUnambiguous(t *testing.T) {
	step := CompiledStep{Keys: []schemas.Getter{schemas.FieldGetter("user.name"), schemas.FieldGetter("host.name")}}
	a, _ := step.Key(&schemas.Event{UserName: "a:1", HostName: "b"})
	b, _ := step.Key(&schemas.Event{UserName: "a", HostName: ":1b"})
	c, _ := step.Key(&schemas.Event{UserName: "1:a", HostName: "b"})
	if a == b || a == c || b == c {
		t.Errorf("keys collide: %q %q %q", a, b, c)
	}
	if k, ok := (&CompiledStep{}).Key(&schemas.Event{}); k != "" || !ok {
		t.Errorf("no keys: %q, %v", k, ok)
	}
	obj := CompiledStep{Keys: []schemas.Getter{schemas.FieldGetter(rp + "nested")}}
	if _, ok := obj.Key(bedrockEvent()); ok {
		t.Error("object key: want ok=false")
	}
	num := CompiledStep{Keys: []schemas.Getter{schemas.FieldGetter("gen_ai.usage.prompt_tokens")}}
	if k, ok := num.Key(bedrockEvent()); k != "120" || !ok {
		t.Errorf("number key: %q, %v", k, ok)
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	e := bedrockEvent()
	for _, cond := range []string{
		`event.action == "InvokeModel"`,
		`event.action != "x" and event.outcome : "SUCCESS"`,
		`event.action : ("converse", "invoke*", "list?oundationmodels")`,
		`event.action in~ ("a", "b", "c", "d", "e", "f", "g", "h", "i", "INVOKEMODEL")`,
		`event.action in ("a", "b", "c", "d", "e", "f", "g", "h", "i", "InvokeModel")`,
		`user_agent.original like~ "*PYTHON/3.*"`,
		`user_agent.original regex~ "AWS-CLI/.*"`,
		`startsWith~(event.action, "INV") and endsWith(event.action, "Model")`,
		`stringContains~(user_agent.original, "python")`,
		`cidrMatch(source.ip, "10.0.0.0/8", "192.168.0.0/16")`,
		`wildcard~(event.action, "*MODEL", "x?")`,
		`gen_ai.guardrail.intervened or event.outcome like "succ*"`,
		`gen_ai.usage.prompt_tokens > 100 and length(gen_ai.request.model.id) < 100`,
		`aws.cloudtrail.error_code == null and not event.action in ("x", "y")`,
		`substring(event.action, 0, 6) == "Invoke"`,
	} {
		p := mustCompile(t, "any where "+cond)
		p.Match(e) // warm up the regexp machine pool
		if n := testing.AllocsPerRun(100, func() { p.Match(e) }); n != 0 {
			t.Errorf("%s: %v allocs per Match", cond, n)
		}
	}
}

func TestRegexDotMatchesNewlineAndContainsForm(t *testing.T) {
	cases := []struct {
		pattern string
		fold    bool
		in      string
		want    bool
	}{
		{`.*secret.*`, false, "line one\nthe secret\nline three", true},
		{`.*secret.*`, false, "nothing here", false},
		{`.*SECRET.*`, true, "a\nsecret", true},
		{`a.b`, false, "a\nb", true},
		{`.*a|b.*`, false, "xa", true},   // ends with a
		{`.*a|b.*`, false, "bx", true},   // starts with b
		{`.*a|b.*`, false, "xax", false}, // neither: the alternation keeps its anchors
		{`.*(x|y)`, false, "zzx", true},
		{`.*(x|y)`, false, "xzz", false}, // must end with x or y
		{`(x|y).*`, false, "xzz", true},
		{`\.*ab`, false, "..ab", true},
		{`\.*ab`, false, "zab", false},
		{`.*`, false, "", true},
		{`.*.*`, false, "anything\nat all", true},
	}
	for _, c := range cases {
		re, err := compileRegex(c.pattern, c.fold)
		if err != nil {
			t.Fatalf("%q: %v", c.pattern, err)
		}
		// The reference: the pattern anchored whole, with dot matching newline.
		flags := "(?s)"
		if c.fold {
			flags = "(?si)"
		}
		ref := regexp.MustCompile(flags + `^(?:` + c.pattern + `)$`)
		if got := re.MatchString(c.in); got != c.want || ref.MatchString(c.in) != c.want {
			t.Errorf("%q on %q: compiled %v, reference %v, want %v (compiled as %s)", c.pattern, c.in, got, ref.MatchString(c.in), c.want, re)
		}
	}
}

// TestMatchTestsTheDatasetApart: Match, which compares the event's dataset
// with the dataset conjunct's literal and evaluates the rest of the
// condition, answers as evaluating the whole condition does, wherever the
// conjunct stands, with a category, when it is all of the condition, and for
// events of that dataset, another, none, or one that differs in case.
func TestMatchTestsTheDatasetApart(t *testing.T) {
	queries := []string{
		`any where data_stream.dataset == "aws.cloudtrail" and event.action == "InvokeModel"`,
		`any where event.outcome == "success" and data_stream.dataset == "aws.cloudtrail" and user.id != null`,
		`any where data_stream.dataset == "aws.cloudtrail"`,
		`process where data_stream.dataset == "aws.cloudtrail" and event.action : "invoke*"`,
		`any where data_stream.dataset == "aws.cloudtrail" and (event.action == "X" or $count > 3)`,
		`any where data_stream.dataset == "aws.cloudtrail" and not (event.outcome == "success")`,
		`any where data_stream.dataset == "aws.cloudtrail" and $missing == null`,
		`any where data_stream.dataset == "aws.cloudtrail" and $missing > 3`,
		`any where event.action == "InvokeModel" or data_stream.dataset == "aws.cloudtrail"`, // no conjunct
		`any where data_stream.dataset : "aws.cloudtrail" and event.action == "InvokeModel"`, // no conjunct
	}
	var events []*schemas.Event
	for _, ds := range []string{"aws.cloudtrail", "aws_bedrock.invocation", "", "AWS.CloudTrail"} {
		for _, action := range []string{"InvokeModel", "X", "invokeStream", ""} {
			for _, outcome := range []string{"success", "failure", ""} {
				for _, cat := range []string{"", "process"} {
					e := bedrockEvent()
					e.Dataset, e.Action, e.Outcome, e.Category = ds, action, outcome, cat
					if action == "X" {
						e.UserID = ""
					}
					events = append(events, e)
				}
			}
		}
	}
	matched := 0
	for _, src := range queries {
		p := mustCompile(t, expand(src))
		for _, e := range events {
			got, want := p.Match(e), p.matchAll(e)
			if got != want {
				t.Errorf("%s on dataset %q action %q outcome %q category %q: Match %v, whole condition %v",
					src, e.Dataset, e.Action, e.Outcome, e.Category, got, want)
			}
			if got {
				matched++
			}
		}
	}
	if matched == 0 {
		t.Fatal("no event matched: the comparison tests nothing")
	}
	if p := mustCompile(t, queries[2]); !p.onlyDataset || p.rest != nil {
		t.Error("a condition that is only the dataset test keeps a rest")
	}
	for _, q := range queries[8:] {
		if p := mustCompile(t, expand(q)); p.Dataset() != "" || p.rest != nil || p.onlyDataset {
			t.Errorf("%s: taken for a dataset conjunct", q)
		}
	}
}
