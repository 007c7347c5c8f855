package eql

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bedrockwatch/bedrockwatch/schemas"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		query     string
		line, col int
		msg       string
	}{
		{"", 1, 1, "empty query"},
		{"   // only a comment", 1, 21, "empty query"},
		{"any", 1, 4, "expected where after the event category, found end of query"},
		{"any where", 1, 10, "expected a value, found end of query"},
		{"any where a ==", 1, 15, "expected a value, found end of query"},
		{"any where a = 1", 1, 13, "= is not an operator: compare with == or :"},
		{`any where a == "x`, 1, 16, "unterminated string: missing closing \""},
		{`any where a == 'x`, 1, 16, "unterminated string: missing closing '"},
		{`any where a == """x""`, 1, 16, `unterminated raw string`},
		{"any where (a == 1", 1, 18, "expected ) to close (, found end of query"},
		{"any where a == 1)", 1, 17, "expected end of query, found )"},
		{"any where a == 1 == 2", 1, 18, "comparisons cannot be chained"},
		{"any where a : \"x\" : \"y\"", 1, 19, "comparisons cannot be chained"},
		{"any where a == 1 AND b", 1, 18, "keywords are lowercase: and"},
		{"any WHERE a", 1, 5, "expected where after the event category, found WHERE (keywords are lowercase: where)"},
		{"any where a in b", 1, 16, "expected ( to open the list after in"},
		{"any where a in ()", 1, 17, "expected a value, found )"},
		{"any where a in (1, 2", 1, 21, "expected ) to close the list after in"},
		{"any where a : b", 1, 15, ": needs literal patterns, found b"},
		{"any where a like (\"x\", b)", 1, 24, "like needs literal patterns"},
		{"any where a not like \"x\"", 1, 13, "not like is not an operator: write not (a like …)"},
		{"any where a not : \"x\"", 1, 13, "not : is not an operator"},
		{"any where foo(a)", 1, 11, "unknown function foo"},
		{"any where arrayContains(a, 1)", 1, 11, "function arrayContains is not supported"},
		{"any where match(a, \"x\")", 1, 11, "function match is not supported"},
		{"any where length~(a)", 1, 11, "function length has no case-insensitive variant length~"},
		{"any where startsWith(a)", 1, 11, "startsWith needs at least 2 arguments, found 1"},
		{"any where length(a, b) > 1", 1, 11, "length takes 1 argument, found 2"},
		{"any where length() > 1", 1, 11, "length takes 1 argument, found 0"},
		{"any where substring(a) == 1", 1, 11, "substring takes 2 to 3 arguments, found 1"},
		{"any where a[0] == 1", 1, 12, "array indexes (a[…]) are not supported"},
		{"any where ?a == 1", 1, 11, "optional fields (?field) are not supported"},
		{"any where a == 1 | head 10", 1, 18, "pipes (| head) are not supported"},
		{"any where a == 1\n| tail 5", 2, 1, "pipes (| tail) are not supported"},
		{"any where a == 1 | filter b", 1, 18, "pipes (| filter) are not supported"},
		{"any where a == 1 | unique a", 1, 18, "pipes (| unique) are not supported"},
		{"any where a == 1 | count", 1, 18, "pipes (| count) are not supported"},
		{"sequence [any where a] [any where b] | head 1", 1, 38, "pipes (| head) are not supported"},
		{"sequence [any where a | head 1] [any where b]", 1, 23, "pipes (| head) are not supported"},
		{"sample by a [any where true] [any where true]", 1, 1, "sample queries are not supported"},
		{"join [any where true] [any where true]", 1, 1, "join queries are not supported"},
		{"sequence [any where true] ![any where true]", 1, 27, "missing-event steps (![…]) are not supported"},
		{"sequence [any where true] [any where true] with runs=3", 1, 49, "with runs= is not supported"},
		{"sequence [any where true] by a with runs=3 [any where true] by a", 1, 37, "with runs= is not supported"},
		{"sequence with runs=3 [any where true] [any where true]", 1, 15, "with runs= is not supported"},
		{"sequence with fork=true [any where true] [any where true]", 1, 15, "with fork= is not supported"},
		{"sequence with maxspan=15 [any where true] [any where true]", 1, 26, "maxspan needs a unit (ms, s, m, h, d)"},
		{"sequence with maxspan=15\n[any where true] [any where true]", 2, 1, "maxspan needs a unit (ms, s, m, h, d)"},
		{"sequence with maxspan=15y [any where true] [any where true]", 1, 25, `unknown maxspan unit "y"`},
		{"sequence with maxspan=0s [any where true] [any where true]", 1, 23, "maxspan must be positive"},
		{"sequence with maxspan=1.5h [any where true] [any where true]", 1, 23, "maxspan needs a whole number"},
		{"sequence with maxspan=99999999999d [any where true] [any where true]", 1, 23, "is too long"},
		{"sequence with maxspan 5m [any where true] [any where true]", 1, 23, "expected = after maxspan"},
		{"sequence with span=5m [any where true] [any where true]", 1, 15, "expected maxspan after with"},
		{"sequence [any where true]", 1, 26, "a sequence needs at least two [steps]"},
		{"sequence", 1, 9, "a sequence needs at least two [steps]"},
		{"sequence by a [any where true] by b [any where true]", 1, 37, "every step of a sequence needs the same number of join keys: step 1 has 2, step 2 has 1"},
		{"sequence [any where true] by a [any where true] by b until [any where true]", 1, 60, "step 1 has 1, until has 0"},
		{"sequence by ?a [any where true] [any where true]", 1, 13, "optional fields (?field) are not supported"},
		{"sequence by length(a) [any where true] [any where true]", 1, 13, "join keys must be field names"},
		{"sequence by [any where true] [any where true]", 1, 13, "expected a field name as join key"},
		{"sequence [sequence [any where a] [any where b]] [any where c]", 1, 11, "a sequence cannot be a step of a sequence"},
		{"sequence [any where true] [any where true] until any where x", 1, 50, "expected [ after until"},
		{"sequence [any where true [any where true]", 1, 26, "expected ] to close the step"},
		{"any where process.name == \"x\" and child of [process where true]", 1, 35, "lineage (child of […]) is not supported"},
		{"any where descendant of [process where true]", 1, 11, "lineage (descendant of […]) is not supported"},
		{`any where a == "\u{D800}"`, 1, 17, "not a character"},
		{`any where a == "\u{110000}"`, 1, 17, "not a character"},
		{`any where a == "\u{1}"`, 1, 17, "use 2 to 8 hex digits"},
		{`any where a == "\u{12`, 1, 17, "without closing }"},
		{`any where a == "\uZZZZ"`, 1, 17, "not hexadecimal"},
		{`any where a == "\u12"`, 1, 17, `use \uXXXX or \u{X…}`},
		{`any where a == "x\`, 1, 18, "backslash at end of query"},
		{"any where /* unterminated", 1, 11, "unterminated comment"},
		{"any where /* a /* b */ a", 1, 11, "unterminated comment"},
		{"any where `a == 1", 1, 11, "unterminated field name"},
		{"any where `` == 1", 1, 11, "empty field name"},
		{"any where a == 1\x80", 1, 17, "invalid UTF-8"},
		{"any where a == \"\x80\"", 1, 17, "invalid UTF-8"},
		{"any where a == 1e999", 1, 16, "number 1e999 is out of range"},
		{"any where a ~ b", 1, 13, "unexpected character '~'"},
		{"any where a == #", 1, 16, "unexpected character '#'"},
		{"any where a == é", 1, 16, "unexpected character 'é'"},
		{"any where a ? b", 1, 13, "unexpected character '?'"},
		{"any where a.", 1, 12, "unexpected character '.'"},
		{`"" where true`, 1, 1, "empty event category"},
		{"sequence where true", 1, 10, "a sequence needs at least two [steps]"},
		{"where a", 1, 1, "expected an event category such as any or process, found keyword where"},
		{"any where true and", 1, 19, "expected a value, found end of query"},
		{"any where not", 1, 14, "expected a value, found end of query"},
		{"any where in (1)", 1, 11, "expected a value, found keyword in"},
		{"any where\n  a == 1 and\n  b === 2", 3, 7, "= is not an operator"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			q, err := Parse(tt.query)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse = %v, %v; want a *SyntaxError", q, err)
			}
			if se.Line != tt.line || se.Col != tt.col || !strings.Contains(se.Msg, tt.msg) {
				t.Errorf("got %q\nwant line %d, column %d: …%s…", se, tt.line, tt.col, tt.msg)
			}
			if want := "line "; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("Error() = %q", err)
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	deep := "any where " + strings.Repeat("(", MaxDepth+1) + "a" + strings.Repeat(")", MaxDepth+1)
	nots := "any where " + strings.Repeat("not ", MaxDepth+1) + "a"
	calls := "any where " + strings.Repeat("length(", MaxDepth+1) + "a" + strings.Repeat(")", MaxDepth+1) + " > 1"
	minus := "any where " + strings.Repeat("-", MaxDepth+1) + "a > 1"
	sums := "any where a" + strings.Repeat(" + a", MaxDepth+1) + " > 1"
	for _, q := range []string{deep, nots, calls, minus, sums} {
		_, err := Parse(q)
		if err == nil || !strings.Contains(err.Error(), "nested too deeply") {
			t.Errorf("%.40s…: err = %v", q, err)
		}
	}
	ok := "any where " + strings.Repeat("(", MaxDepth-1) + "a" + strings.Repeat(")", MaxDepth-1)
	if _, err := Parse(ok); err != nil {
		t.Errorf("depth %d: %v", MaxDepth-1, err)
	}
	long := "any where a == \"" + strings.Repeat("x", MaxQueryBytes) + "\""
	if _, err := Parse(long); err == nil || !strings.Contains(err.Error(), "query is too long") {
		t.Errorf("long query: %v", err)
	}
	// A long flat or-chain is not nesting.
	wide := "any where a == 0" + strings.Repeat(" or a == 1", 2000)
	if _, err := Parse(wide); err != nil {
		t.Errorf("wide query: %v", err)
	}
}

func TestLiterals(t *testing.T) {
	tests := []struct {
		src  string
		want schemas.Value
	}{
		{`"plain"`, schemas.Str("plain")},
		{`"a\"b"`, schemas.Str(`a"b`)},
		{`"back\\slash"`, schemas.Str(`back\slash`)},
		{`"\n\r\t\b\f"`, schemas.Str("\n\r\t\b\f")},
		{`"it\'s"`, schemas.Str("it's")},
		{`"\d+\w"`, schemas.Str(`\d+\w`)}, // unknown escapes are kept
		{`"C:\\Windows\\*"`, schemas.Str(`C:\Windows\*`)},
		{`"\u0041\u{42}\u{0001F600}"`, schemas.Str("AB😀")},
		{`"multi
line"`, schemas.Str("multi\nline")},
		{`'single "quoted"'`, schemas.Str(`single "quoted"`)},
		{`'\''`, schemas.Str(`'`)},
		{`"""raw \ " \n"""`, schemas.Str(`raw \ " \n`)},
		{`"""a"""""`, schemas.Str(`a""`)},
		{`""""""`, schemas.Str(``)},
		{`?"raw\d"`, schemas.Str(`raw\d`)},
		{`?'raw\'`, schemas.Str(`raw\`)},
		{`""`, schemas.Str("")},
		{`12`, schemas.Num(12)},
		{`-12`, schemas.Num(-12)},
		{`- 12`, schemas.Num(-12)},
		{`--12`, schemas.Num(12)},
		{`+12`, schemas.Num(12)},
		{`1.5`, schemas.Num(1.5)},
		{`.5`, schemas.Num(0.5)},
		{`1.`, schemas.Num(1)},
		{`1e3`, schemas.Num(1000)},
		{`2.5E-3`, schemas.Num(0.0025)},
		{`-0.25`, schemas.Num(-0.25)},
		{`true`, schemas.BoolVal(true)},
		{`false`, schemas.BoolVal(false)},
		{`null`, schemas.Value{}},
	}
	for _, tt := range tests {
		x, err := ParseExpr(tt.src)
		if err != nil {
			t.Errorf("%s: %v", tt.src, err)
			continue
		}
		lit, ok := x.(*Literal)
		if !ok || !reflect.DeepEqual(lit.Value, tt.want) {
			t.Errorf("%s: got %#v, want %#v", tt.src, x, tt.want)
		}
	}
	x, _ := ParseExpr("4.0")
	y, _ := ParseExpr("4")
	if !x.(*Literal).Float || y.(*Literal).Float {
		t.Error("Float flag: 4.0 must be float, 4 must not")
	}
}

func TestFieldNames(t *testing.T) {
	tests := []struct{ src, name string }{
		{"event.action", "event.action"},
		{"@timestamp", "@timestamp"},
		{"a.b_c.d", "a.b_c.d"},
		{"_x.y1", "_x.y1"},
		{"process.pe.1st", "process.pe.1st"},
		{"`my field`", "my field"},
		{"`my-field`", "my-field"},
		{"`6field`", "6field"},
		{"`a``b`", "a`b"},
		{"`a-b`.c", "a-b.c"},
		{"x.`y z`", "x.y z"},
		{"`where`", "where"},
		{"any.thing", "any.thing"},
		{"Event.Action", "Event.Action"},
	}
	for _, tt := range tests {
		x, err := ParseExpr(tt.src)
		if err != nil {
			t.Errorf("%s: %v", tt.src, err)
			continue
		}
		f, ok := x.(*Field)
		if !ok || f.Name != tt.name {
			t.Errorf("%s: got %#v, want field %q", tt.src, x, tt.name)
		}
	}
}

func TestComments(t *testing.T) {
	q := mustParse(t, `// leading comment
any where /* inline /* nested */ still comment */ event.action == "x" // trailing
  and /**/ event.outcome == "success"`)
	if got, want := q.String(), `any where event.action == "x" and event.outcome == "success"`; got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

func TestSequenceHeaderOrders(t *testing.T) {
	a := mustParse(t, "sequence by x with maxspan=1h [any where true] [any where true]")
	b := mustParse(t, "sequence with maxspan=1h by x [any where true] [any where true]")
	if a.String() != b.String() {
		t.Errorf("%s\n!=\n%s", a, b)
	}
	for _, tt := range []struct {
		span string
		want time.Duration
	}{{"250ms", 250 * time.Millisecond}, {"30s", 30 * time.Second}, {"15m", 15 * time.Minute}, {"2h", 2 * time.Hour}, {"7d", 7 * 24 * time.Hour}, {"90 m", 90 * time.Minute}} {
		q := mustParse(t, "sequence with maxspan="+tt.span+" [any where true] [any where true]").(*SequenceQuery)
		if q.MaxSpan != tt.want {
			t.Errorf("maxspan=%s: %v", tt.span, q.MaxSpan)
		}
	}
}

func TestPositions(t *testing.T) {
	q := mustParse(t, "sequence by k\n  [any where a == 1] by c\n  [process where\n      startsWith(b, \"x\")] by c").(*SequenceQuery)
	want := []Pos{{1, 1}, {2, 3}, {2, 4}, {3, 3}, {3, 4}, {4, 7}}
	got := []Pos{q.Pos, q.Steps[0].Pos, q.Steps[0].Query.Pos, q.Steps[1].Pos, q.Steps[1].Query.Pos, q.Steps[1].Query.Cond.Position()}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("positions %v, want %v", got, want)
	}
	cmp := q.Steps[0].Query.Cond.(*Compare)
	if cmp.Right.Position() != (Pos{2, 19}) {
		t.Errorf("literal at %v", cmp.Right.Position())
	}
	// Columns count characters, not bytes.
	_, err := Parse("any where \"é\" == a and b ==")
	if err == nil || !strings.HasPrefix(err.Error(), "line 1, column 28:") {
		t.Errorf("err = %v", err)
	}
}

func TestFields(t *testing.T) {
	eq := mustEvent(t, `process where process.name : "aws" and (startsWith(process.command_line, host.name) or process.name == "x")`)
	if got, want := eq.Fields(), []string{"process.name", "process.command_line", "host.name", "event.category"}; !equalStrings(got, want) {
		t.Errorf("event Fields() = %v, want %v", got, want)
	}
	sq := mustParse(t, `sequence by user.id [any where a == 1] by b [file where c == 2] by d until [any where e] by f`)
	if got, want := sq.Fields(), []string{"user.id", "b", "d", "f", "a", "c", "event.category", "e"}; !equalStrings(got, want) {
		t.Errorf("sequence Fields() = %v, want %v", got, want)
	}
	var calls []string
	Walk(eq.Cond, func(x Expr) bool {
		if c, ok := x.(*Call); ok {
			calls = append(calls, c.Name)
			return false
		}
		return true
	})
	if !equalStrings(calls, []string{"startsWith"}) {
		t.Errorf("Walk: %v", calls)
	}
}

// roundTripCorpus is parsed, printed and parsed again by TestRoundTrip, and
// seeds FuzzParse.
var roundTripCorpus = []string{
	seedQuery,
	`any where true`,
	`process where process.name == "bash"`,
	`"my-category" where x == 1`,
	`"""raw.cat""" where x == 1`,
	`network where destination.port in (22, 3389) and not source.ip : "10.*"`,
	`any where a != "x" or b < 1.5 and not (c >= -2 or d <= 3e10)`,
	`any where a : ("x*", "?y", 5, true, null) and b like~ "Z*" and c regex "[a-z]+\\d"`,
	`any where a regex~ ("x", "y") and b like ("p", "q")`,
	`any where a not in~ ("X", concat(b, "y")) and e in (1, 2.0, "three", false, null)`,
	`any where startsWith~(a, "x", "y") or endsWith(b, "z") or stringContains~(c, "w")`,
	`any where wildcard(a, "*x*") and wildcard~(b, "?") and cidrMatch(source.ip, "10.0.0.0/8", "::1")`,
	`any where length(a) > 3 and substring(b, -4) == ".exe" and substring(b, 0, -1) != ""`,
	`any where number("0x1f") + number(x, 16) * 2 - 1 / 4 % 3 == add(1, subtract(2, multiply(3, divide(4, modulo(5, 6)))))`,
	`any where indexOf~(a, "x", 2) >= 0 and between~(b, "[", "]", true) == "x" and string(c) == "1"`,
	`any where -a == -(b + c) and - -d == 1 and a - -1 == 0 and (a - b) - c == a - (b - c)`,
	`any where not not a and not (b or c) and (d or e) and f`,
	`any where (a == 1) == true and (b : "x") != false`,
	"any where `my field` == `a-b`.c and `where` == `x``y` and x.`1`",
	`any where a == "quote \" backslash \\ newline \n tab \t ctl \u{01} unicode é 😀"`,
	`any where a == 'single' and b == ?"raw\x" and c == """triple " q"""`,
	`any where @timestamp >= "2025-01-01T00:00:00Z" and a == 0.1 and b == 1e-7 and c == 123456789012345678`,
	`any where a == 4.0 and b == -0 and c == 1.0e300 and d == .5`,
	`sequence [any where a] [any where b]`,
	`sequence by a, b with maxspan=90s [any where x] by c [process where y] by d until [file where z] by e`,
	`sequence with maxspan=250ms [any where true] [any where true] [any where true]`,
	`sequence with maxspan=2d by host.name [process where true] [network where true]`,
	`sequence with maxspan=36h [any where true] [any where true]`,
	"// comment\nany /* c */ where\n  a == 1 // end",
}

// stripPositions zeroes every Pos in a query, so that trees parsed from
// differently formatted texts compare equal.
func stripPositions(q Query) {
	zero := func(x Expr) bool {
		v := reflect.ValueOf(x).Elem()
		v.FieldByName("Pos").Set(reflect.ValueOf(Pos{}))
		return true
	}
	stripEvent := func(eq *EventQuery) {
		eq.Pos = Pos{}
		Walk(eq.Cond, zero)
	}
	switch q := q.(type) {
	case *EventQuery:
		stripEvent(q)
	case *SequenceQuery:
		q.Pos = Pos{}
		steps := q.Steps
		if q.Until != nil {
			steps = append(steps[:len(steps):len(steps)], q.Until)
		}
		for _, st := range steps {
			st.Pos = Pos{}
			stripEvent(st.Query)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, src := range roundTripCorpus {
		q1 := mustParse(t, src)
		printed := q1.String()
		q2, err := Parse(printed)
		if err != nil {
			t.Errorf("%s\nprinted as\n%s\ndoes not parse: %v", src, printed, err)
			continue
		}
		if again := q2.String(); again != printed {
			t.Errorf("String not stable:\n%s\n%s", printed, again)
		}
		stripPositions(q1)
		stripPositions(q2)
		if !reflect.DeepEqual(q1, q2) {
			t.Errorf("%s\nprinted as\n%s\nparses to a different tree", src, printed)
		}
	}
}

func TestCanonicalString(t *testing.T) {
	tests := []struct{ src, want string }{
		{`ANY where a`, `ANY where a`},
		{`process where (a and b) and (c and (d))`, `process where a and b and c and d`},
		{`any where a or (b or c) or d`, `any where a or b or c or d`},
		{`any where (a or b) and c`, `any where (a or b) and c`},
		{`any where not (a == 1)`, `any where not a == 1`},
		{`any where x : ("a")`, `any where x : "a"`},
		{`any where x  IN~ ("a")`, ``},
		{`any where STARTSWITH~(x, 'y')`, `any where startsWith~(x, "y")`},
		{`any where (1 + 2) * 3 == 9`, `any where (1 + 2) * 3 == 9`},
		{`any where 1 + (2 * 3) == 7`, `any where 1 + 2 * 3 == 7`},
		{`any where -(5) == x`, `any where -5 == x`},
		{"any where `plain.name` == 1", `any where plain.name == 1`},
		{`"process" where true`, `process where true`},
		{`"6cat" where true`, `"6cat" where true`},
		{`sequence with maxspan=60m [any where a] [any where b]`, "sequence with maxspan=1h\n  [any where a]\n  [any where b]"},
		{`sequence with maxspan=1000ms [any where a] [any where b]`, "sequence with maxspan=1s\n  [any where a]\n  [any where b]"},
	}
	for _, tt := range tests {
		q, err := Parse(tt.src)
		if tt.want == "" {
			if err == nil {
				t.Errorf("%s: want an error", tt.src)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.src, err)
			continue
		}
		if got := q.String(); got != tt.want {
			t.Errorf("%s:\ngot  %s\nwant %s", tt.src, got, tt.want)
		}
	}
}
