package eql

import (
	"strings"
	"unicode/utf8"
)

// MaxQueryBytes bounds the length of a query text. Longer texts are rejected
// before lexing, so that a rule file cannot make the parser hold an unbounded
// amount of memory.
const MaxQueryBytes = 64 << 10

type tokKind uint8

const (
	tEOF         tokKind = iota
	tIdent               // identifier, possibly dotted, possibly ending in ~ (keywords too)
	tQuotedIdent         // `back quoted` field name; text is the decoded name
	tString              // string literal; text is the decoded value
	tNumber              // number literal; text as written
	tLParen              // (
	tRParen              // )
	tLBrack              // [
	tRBrack              // ]
	tComma               // ,
	tEq                  // ==
	tNeq                 // !=
	tLt                  // <
	tLe                  // <=
	tGt                  // >
	tGe                  // >=
	tColon               // :
	tAssign              // =
	tPlus                // +
	tMinus               // -
	tStar                // *
	tSlash               // /
	tPercent             // %
	tPipe                // |
	tBang                // ! (not followed by =)
	tOptional            // ? directly before a field name
)

var tokNames = [...]string{
	tEOF: "end of query", tIdent: "identifier", tQuotedIdent: "field name",
	tString: "string", tNumber: "number", tLParen: "(", tRParen: ")",
	tLBrack: "[", tRBrack: "]", tComma: ",", tEq: "==", tNeq: "!=", tLt: "<",
	tLe: "<=", tGt: ">", tGe: ">=", tColon: ":", tAssign: "=", tPlus: "+",
	tMinus: "-", tStar: "*", tSlash: "/", tPercent: "%", tPipe: "|", tBang: "!",
	tOptional: "?",
}

type token struct {
	kind tokKind
	text string
	pos  Pos
}

// describe renders a token for an error message.
func (t token) describe() string {
	switch t.kind {
	case tIdent:
		if keywords[t.text] {
			return "keyword " + t.text
		}
		return t.text
	case tQuotedIdent:
		return "field " + quoteField(t.text)
	case tString:
		return "string " + quoteString(t.text)
	case tNumber:
		return "number " + t.text
	case tEOF:
		return "end of query"
	}
	return tokNames[t.kind]
}

type lexer struct {
	src  string
	off  int // byte offset of the next unread character
	line int
	col  int
	toks []token
}

// lex splits src into tokens. It stops at the first malformed token.
func lex(src string) ([]token, error) {
	if len(src) > MaxQueryBytes {
		return nil, errorAt(Pos{1, 1}, "query is too long (%d bytes, the limit is %d)", len(src), MaxQueryBytes)
	}
	l := &lexer{src: src, line: 1, col: 1}
	for {
		if err := l.skipSpaceAndComments(); err != nil {
			return nil, err
		}
		if l.off >= len(l.src) {
			l.toks = append(l.toks, token{kind: tEOF, pos: l.pos()})
			return l.toks, nil
		}
		if err := l.next(); err != nil {
			return nil, err
		}
	}
}

func (l *lexer) pos() Pos { return Pos{Line: l.line, Col: l.col} }

// peekRune returns the rune at byte offset off (relative to the cursor).
func (l *lexer) peekByte(ahead int) byte {
	if l.off+ahead < len(l.src) {
		return l.src[l.off+ahead]
	}
	return 0
}

// advance moves the cursor over n bytes, keeping line and column.
func (l *lexer) advance(n int) {
	end := l.off + n
	for l.off < end {
		r, w := utf8.DecodeRuneInString(l.src[l.off:])
		l.off += w
		if r == '\n' {
			l.line++
			l.col = 1
		} else {
			l.col++
		}
	}
}

func (l *lexer) emit(kind tokKind, text string, p Pos) {
	l.toks = append(l.toks, token{kind: kind, text: text, pos: p})
}

func (l *lexer) skipSpaceAndComments() error {
	for l.off < len(l.src) {
		c := l.src[l.off]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			l.advance(1)
		case c == '/' && l.peekByte(1) == '/':
			end := strings.IndexByte(l.src[l.off:], '\n')
			if end < 0 {
				end = len(l.src) - l.off
			}
			l.advance(end)
		case c == '/' && l.peekByte(1) == '*':
			if err := l.skipBlockComment(); err != nil {
				return err
			}
		default:
			return nil
		}
	}
	return nil
}

// skipBlockComment skips a /* … */ comment; comments nest, as in Elastic's
// grammar.
func (l *lexer) skipBlockComment() error {
	start := l.pos()
	l.advance(2)
	depth := 1
	for l.off < len(l.src) {
		switch {
		case l.src[l.off] == '/' && l.peekByte(1) == '*':
			depth++
			l.advance(2)
		case l.src[l.off] == '*' && l.peekByte(1) == '/':
			depth--
			l.advance(2)
			if depth == 0 {
				return nil
			}
		default:
			_, w := utf8.DecodeRuneInString(l.src[l.off:])
			l.advance(w)
		}
	}
	return errorAt(start, "unterminated comment /*")
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '@'
}

func isIdentPart(c byte) bool { return isIdentStart(c) || isDigit(c) }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// next lexes one token at the cursor.
func (l *lexer) next() error {
	p := l.pos()
	c := l.src[l.off]
	if c >= utf8.RuneSelf {
		r, w := utf8.DecodeRuneInString(l.src[l.off:])
		if r == utf8.RuneError && w == 1 {
			return errorAt(p, "invalid UTF-8 in query")
		}
		return errorAt(p, "unexpected character %q", r)
	}
	switch {
	case isIdentStart(c):
		return l.lexName(p)
	case c == '`':
		return l.lexName(p)
	case isDigit(c) || c == '.' && isDigit(l.peekByte(1)):
		return l.lexNumber(p)
	case c == '"' || c == '\'':
		s, err := l.lexString(p)
		if err != nil {
			return err
		}
		l.emit(tString, s, p)
		return nil
	case c == '?':
		switch n := l.peekByte(1); {
		case n == '"' || n == '\'':
			l.advance(1)
			s, err := l.lexRawString(p, n)
			if err != nil {
				return err
			}
			l.emit(tString, s, p)
			return nil
		case isIdentStart(n) || n == '`':
			l.advance(1)
			l.emit(tOptional, "?", p)
			return nil
		}
		return errorAt(p, "unexpected character '?'")
	}
	return l.lexOperator(p, c)
}

func (l *lexer) lexOperator(p Pos, c byte) error {
	two := func(second byte, double, single tokKind) {
		if l.peekByte(1) == second {
			l.advance(2)
			l.emit(double, "", p)
			return
		}
		l.advance(1)
		l.emit(single, "", p)
	}
	switch c {
	case '(':
		l.advance(1)
		l.emit(tLParen, "", p)
	case ')':
		l.advance(1)
		l.emit(tRParen, "", p)
	case '[':
		l.advance(1)
		l.emit(tLBrack, "", p)
	case ']':
		l.advance(1)
		l.emit(tRBrack, "", p)
	case ',':
		l.advance(1)
		l.emit(tComma, "", p)
	case ':':
		l.advance(1)
		l.emit(tColon, "", p)
	case '+':
		l.advance(1)
		l.emit(tPlus, "", p)
	case '-':
		l.advance(1)
		l.emit(tMinus, "", p)
	case '*':
		l.advance(1)
		l.emit(tStar, "", p)
	case '/':
		l.advance(1)
		l.emit(tSlash, "", p)
	case '%':
		l.advance(1)
		l.emit(tPercent, "", p)
	case '|':
		l.advance(1)
		l.emit(tPipe, "", p)
	case '=':
		two('=', tEq, tAssign)
	case '!':
		two('=', tNeq, tBang)
	case '<':
		two('=', tLe, tLt)
	case '>':
		two('=', tGe, tGt)
	default:
		return errorAt(p, "unexpected character %q", rune(c))
	}
	return nil
}

// lexName lexes a field name, keyword or function name: dotted segments,
// each a plain identifier or a `back quoted` one, the last optionally followed
// directly by ~ (in~, like~, startsWith~). A name containing a back quoted
// segment is a field (tQuotedIdent), never a keyword.
func (l *lexer) lexName(p Pos) error {
	var b strings.Builder
	quoted := false
	for {
		if l.off < len(l.src) && l.src[l.off] == '`' {
			seg, err := l.lexBackquoted()
			if err != nil {
				return err
			}
			b.WriteString(seg)
			quoted = true
		} else {
			start := l.off
			for l.off < len(l.src) && isIdentPart(l.src[l.off]) {
				l.advance(1)
			}
			b.WriteString(l.src[start:l.off])
		}
		// A dot continues the name when a segment follows it.
		if l.off+1 < len(l.src) && l.src[l.off] == '.' && (isIdentPart(l.src[l.off+1]) || l.src[l.off+1] == '`') {
			b.WriteByte('.')
			l.advance(1)
			continue
		}
		break
	}
	name := b.String()
	if quoted {
		l.emit(tQuotedIdent, name, p)
		return nil
	}
	if l.off < len(l.src) && l.src[l.off] == '~' {
		l.advance(1)
		name += "~"
	}
	l.emit(tIdent, name, p)
	return nil
}

// lexBackquoted lexes `name`, where a doubled back quote stands for one.
func (l *lexer) lexBackquoted() (string, error) {
	start := l.pos()
	l.advance(1)
	var b strings.Builder
	for l.off < len(l.src) {
		c := l.src[l.off]
		if c == '`' {
			if l.peekByte(1) == '`' {
				b.WriteByte('`')
				l.advance(2)
				continue
			}
			l.advance(1)
			if b.Len() == 0 {
				return "", errorAt(start, "empty field name ``")
			}
			return b.String(), nil
		}
		r, w := utf8.DecodeRuneInString(l.src[l.off:])
		if r == utf8.RuneError && w == 1 {
			return "", errorAt(l.pos(), "invalid UTF-8 in query")
		}
		b.WriteString(l.src[l.off : l.off+w])
		l.advance(w)
	}
	return "", errorAt(start, "unterminated field name: missing closing `")
}

// lexNumber lexes 12, 1.5, .5, 1., 1e6, 2.5E-3. A sign is a separate token.
func (l *lexer) lexNumber(p Pos) error {
	start := l.off
	for l.off < len(l.src) && isDigit(l.src[l.off]) {
		l.advance(1)
	}
	if l.off < len(l.src) && l.src[l.off] == '.' {
		l.advance(1)
		for l.off < len(l.src) && isDigit(l.src[l.off]) {
			l.advance(1)
		}
	}
	if c := l.peekByte(0); c == 'e' || c == 'E' {
		n := 1
		if s := l.peekByte(1); s == '+' || s == '-' {
			n = 2
		}
		if isDigit(l.peekByte(n)) {
			l.advance(n)
			for l.off < len(l.src) && isDigit(l.src[l.off]) {
				l.advance(1)
			}
		}
	}
	l.emit(tNumber, l.src[start:l.off], p)
	return nil
}

// lexString lexes a string at the cursor: """raw""", "escaped" or 'escaped'.
func (l *lexer) lexString(p Pos) (string, error) {
	q := l.src[l.off]
	if q == '"' && strings.HasPrefix(l.src[l.off:], `"""`) {
		return l.lexTripleQuoted(p)
	}
	l.advance(1)
	var b strings.Builder
	for l.off < len(l.src) {
		c := l.src[l.off]
		switch {
		case c == q:
			l.advance(1)
			return b.String(), nil
		case c == '\\':
			if err := l.lexEscape(&b); err != nil {
				return "", err
			}
		default:
			r, w := utf8.DecodeRuneInString(l.src[l.off:])
			if r == utf8.RuneError && w == 1 {
				return "", errorAt(l.pos(), "invalid UTF-8 in query")
			}
			b.WriteString(l.src[l.off : l.off+w])
			l.advance(w)
		}
	}
	return "", errorAt(p, "unterminated string: missing closing %c", q)
}

// lexTripleQuoted lexes """raw""": no escapes; up to two quotes directly
// before the closing """ belong to the value, as in Elastic's grammar.
func (l *lexer) lexTripleQuoted(p Pos) (string, error) {
	body := l.src[l.off+3:]
	end := strings.Index(body, `"""`)
	if end < 0 {
		return "", errorAt(p, `unterminated raw string: missing closing """`)
	}
	for extra := 0; extra < 2 && end+3 < len(body) && body[end+3] == '"'; extra++ {
		end++
	}
	s := body[:end]
	if !utf8.ValidString(s) {
		return "", errorAt(p, "invalid UTF-8 in query")
	}
	l.advance(3 + end + 3)
	return s, nil
}

// lexRawString lexes the legacy raw string ?"…" or ?'…' (the ? already
// consumed): no escapes, and the value cannot contain its quote.
func (l *lexer) lexRawString(p Pos, q byte) (string, error) {
	body := l.src[l.off+1:]
	end := strings.IndexByte(body, q)
	if end < 0 {
		return "", errorAt(p, "unterminated raw string: missing closing %c", q)
	}
	s := body[:end]
	if !utf8.ValidString(s) {
		return "", errorAt(p, "invalid UTF-8 in query")
	}
	l.advance(1 + end + 1)
	return s, nil
}

// lexEscape decodes one backslash escape. Unknown escapes are kept as written
// (backslash included), as Elastic does, so "\d" stays \d for a regex.
func (l *lexer) lexEscape(b *strings.Builder) error {
	p := l.pos()
	if l.off+1 >= len(l.src) {
		l.advance(1)
		return errorAt(p, "unterminated string: backslash at end of query")
	}
	c := l.src[l.off+1]
	if r, ok := simpleEscape(c); ok {
		b.WriteByte(r)
		l.advance(2)
		return nil
	}
	if c != 'u' {
		b.WriteByte('\\')
		l.advance(1)
		return nil // the next character is read as an ordinary one
	}
	l.advance(2)
	var hex string
	if l.peekByte(0) == '{' {
		end := strings.IndexByte(l.src[l.off:], '}')
		if end < 0 {
			return errorAt(p, `invalid unicode escape: \u{ without closing }`)
		}
		hex = l.src[l.off+1 : l.off+end]
		if len(hex) < 2 || len(hex) > 8 {
			return errorAt(p, `invalid unicode escape \u{%s}: use 2 to 8 hex digits`, hex)
		}
		l.advance(end + 1)
	} else {
		if l.off+4 > len(l.src) {
			return errorAt(p, `invalid unicode escape: use \uXXXX or \u{X…}`)
		}
		hex = l.src[l.off : l.off+4]
		l.advance(4)
	}
	var r uint32
	for i := 0; i < len(hex); i++ {
		d := hexDigit(hex[i])
		if d < 0 {
			return errorAt(p, `invalid unicode escape \u%s: not hexadecimal`, hex)
		}
		r = r<<4 | uint32(d)
	}
	if r > utf8.MaxRune || r >= 0xD800 && r <= 0xDFFF {
		return errorAt(p, `invalid unicode escape \u%s: not a character`, hex)
	}
	b.WriteRune(rune(r))
	return nil
}

// simpleEscape decodes the one-letter escapes Elastic knows.
func simpleEscape(c byte) (byte, bool) {
	switch c {
	case 't':
		return '\t', true
	case 'b':
		return '\b', true
	case 'f':
		return '\f', true
	case 'n':
		return '\n', true
	case 'r':
		return '\r', true
	case '"', '\'', '\\':
		return c, true
	}
	return 0, false
}

func hexDigit(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
