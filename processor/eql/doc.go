// Package eql parses, compiles and evaluates the subset of Elastic's Event
// Query Language (EQL) that bedrockwatch rules are written in, so that a
// detection engineer can paste a rule from Elastic's detection-rules
// repository and have it behave here as it does in Elasticsearch.
//
// # Use
//
//	q, err := eql.Parse(src)              // *EventQuery or *SequenceQuery
//	p, err := eql.CompileCondition(eq)    // eq is an *EventQuery
//	p.Match(event)                        // one event
//	s, err := eql.CompileSequence(sq)     // per-step predicates and join keys
//	key, ok := s.Steps[0].Key(event)
//
// Parsing and compiling happen once, when rules load. Compiled values
// (Predicate, Sequence, CompiledStep, the getters of CompileValue) are
// immutable and safe for concurrent use by any number of goroutines; Match
// does not allocate for field comparisons, literal lists, wildcards and
// regular expressions on typed fields. Sequence matching over time (ordering
// by @timestamp, maxspan, until) is the caller's job: this package provides
// each step's predicate and join key.
//
// # Language
//
// Queries:
//
//	CATEGORY where COND                  any, process, network, "my-category"
//	sequence [by F, …] [with maxspan=N(ms|s|m|h|d)]
//	  [QUERY] [by F, …]
//	  [QUERY] [by F, …] …
//	[until [QUERY] [by F, …]]
//
// `sequence with maxspan=… by …` is accepted too. A sequence has at least two
// steps, and every step (and until) must have as many join keys (sequence-level
// plus its own) — else Parse fails.
//
// Conditions: == != < <= > >=; : (case-insensitive, * and ? wildcards);
// like, like~ (wildcards, case-sensitive / insensitive); regex, regex~ (RE2
// syntax, matching the whole string, as Elastic's regex does); in, in~,
// not in, not in~; : like like~ regex regex~ with a parenthesised list of
// patterns; and, or, not, parentheses; + - * / %; literals: "strings" with
// \n \r \t \b \f \" \' \\ \u{X…} and \uXXXX escapes (any other backslash is
// kept as written, as Elastic does), """raw strings""", 'single-quoted' and
// ?"raw" strings (legacy EQL; Elasticsearch rejects these two), integers and
// decimals, true, false, null. Fields are dotted names (event.action,
// @timestamp) or `back quoted` names. Comments are // … and /* … */.
//
// Functions (names resolve case-insensitively; ~ selects the
// case-insensitive variant): startsWith~, endsWith~, stringContains~ (all
// taking one or more substrings), wildcard~, cidrMatch, length, concat,
// substring (Python-style negative positions), number (with optional base),
// string, indexOf~, between~, add, subtract, multiply, divide, modulo.
//
// Unsupported constructs are errors that name them: pipes (| head, | tail,
// …), sample, join, missing-event steps ![…], with runs=, with fork=,
// optional fields ?field, lineage (child of), array indexes f[0], and the
// Endgame-only functions (arrayContains, match, …).
//
// # Semantics
//
// Fields resolve once, at compile time, through schemas.FieldGetter. A field
// is null when the event does not carry it (normalised fields that are empty
// strings read as null), when it is JSON null, and when it is an array of
// nothing but nulls.
//
// Null. Elasticsearch runs an EQL condition as a query: each comparison of a
// field with literals becomes an index query (term, terms, wildcard, regexp,
// prefix, range), and only what cannot (functions, arithmetic, field against
// field) runs as a script, where null propagates. The two differ for missing
// fields, and this package follows both, so a pasted rule matches the same
// events:
//
//   - A predicate on a bare field against literals — f == "x", f < 5,
//     f : "a*", f like~ "x", f regex "…", f in ("a", "b"),
//     startsWith(f, "x"), cidrMatch(f, "10.0.0.0/8"), a bare boolean field —
//     is false when f is null, and so its negation is true: f != "x",
//     f not in (…) and not f : "x" all match an event without f (as a
//     must_not query does).
//   - f == null is true exactly when f is null, f != null when it is not.
//   - Any other predicate meeting a null — length(f) > 3, f == g,
//     concat(f, "x") : "…", startsWith(f, g) — is null (unknown), as
//     Elastic's scripts return null, and not null is null: neither
//     length(f) > 3 nor not length(f) > 3 matches an event without f.
//   - and / or are two-valued, as Elasticsearch's bool query: a null term
//     counts as not matching (null or true is true; not (null or false) is
//     true). A condition that evaluates to null does not match.
//   - Functions and arithmetic return null when an argument is null, as
//     Elastic's function reference documents.
//
// Types. Strings compare byte for byte (== and != are case-sensitive;
// : in~ like~ regex~ and the ~ functions fold case with Unicode simple
// folding, as strings.EqualFold); < <= > >= order strings by bytes. Numbers
// compare numerically. A number and a string compare as numbers when the
// string holds a decimal number ("5" == 5, "5.0" == 5) and are unequal
// otherwise — Elasticsearch likewise coerces a literal to the field's type. A
// boolean equals the string "true" or "false". Other mixed pairs (a boolean
// and a number, anything and an object) are never equal and never ordered.
// Pattern operators and string functions read numbers and booleans through
// their text (Value.Text).
//
// Arrays. A comparison or pattern holds when it holds for any element of a
// multi-valued field, as Elasticsearch matches arrays; f != "x" is the
// negation of f == "x" (no element equals "x"). Value functions (length,
// substring, …) take a scalar: an array of one element is that element, a
// longer one is null.
//
// Numbers are float64. divide and / truncate toward zero when both operands
// are whole numbers and no float literal (4.0, 1e3) is involved, as Elastic
// divides integers; division or modulo by zero is null.
//
// Category: any matches every event; any other category matches events whose
// event.category equals it, case-insensitively.
//
// # Files
//
//	lexer.go      tokens, strings and escapes, comments, MaxQueryBytes
//	parser.go     Parse, ParseExpr: recursive descent, MaxDepth, unsupported constructs
//	ast.go        Query, Expr and their nodes; Walk, Fields; String (canonical EQL)
//	compile.go    CompileCondition, CompileSequence, CompileValue; Predicate, Sequence, Key
//	eval.go       evaluation nodes: three-valued logic, comparisons, literal sets
//	functions.go  the function table and each function
//	wildcard.go   case folding, * / ? matching, folded string search
//	errors.go     SyntaxError, Pos
//
// # Errors and limits
//
// Errors are *SyntaxError values with a 1-based line and column
// ("line 3, column 7: maxspan needs a unit (ms, s, m, h, d)"). Queries longer
// than MaxQueryBytes and expressions nested deeper than MaxDepth are
// rejected, so a hostile rule cannot exhaust memory or stack.
package eql
