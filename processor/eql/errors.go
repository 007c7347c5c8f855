package eql

import (
	"fmt"
	"strconv"
)

// Pos is a position in the query text: 1-based line and column, the column
// counted in characters (runes), a tab counting as one.
type Pos struct {
	Line, Col int
}

func (p Pos) String() string {
	return "line " + strconv.Itoa(p.Line) + ", column " + strconv.Itoa(p.Col)
}

// SyntaxError reports a problem at a position of the query text. Parse
// returns it for text that is not EQL or that uses a construct this package
// does not support (the message names the construct); the compilers return it
// for queries that parse but cannot run (a bad regular expression or CIDR
// block, a condition that is not boolean, an argument of the wrong type).
//
// When a query has several compile-time problems, the error is an
// errors.Join of one *SyntaxError per problem, in source order; use
// errors.As to reach the first.
type SyntaxError struct {
	Line, Col int
	Msg       string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Col, e.Msg)
}

// Pos returns where the error is.
func (e *SyntaxError) Pos() Pos { return Pos{Line: e.Line, Col: e.Col} }

func errorAt(p Pos, format string, args ...any) *SyntaxError {
	return &SyntaxError{Line: p.Line, Col: p.Col, Msg: fmt.Sprintf(format, args...)}
}
