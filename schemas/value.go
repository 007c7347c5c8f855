package schemas

import (
	"strconv"
	"strings"
)

// Kind is the type of a Value.
type Kind uint8

// The kinds a field value can have. Null stands for a field that is absent or
// JSON null; EQL treats both alike.
const (
	Null Kind = iota
	String
	Number
	Bool
	List
	Object
)

func (k Kind) String() string {
	switch k {
	case Null:
		return "null"
	case String:
		return "string"
	case Number:
		return "number"
	case Bool:
		return "bool"
	case List:
		return "list"
	case Object:
		return "object"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is one field value as rules see it. It is a small struct rather than an
// interface so that reading a field allocates nothing.
//
// Numbers are float64: token counts and sizes stay exact up to 2^53.
// Obj holds a JSON object as decoded by encoding/json conventions
// (map[string]any with string, float64, bool, nil, []any, map[string]any).
type Value struct {
	Kind Kind
	Str  string
	Num  float64
	Bool bool
	List []Value
	Obj  map[string]any
}

// Str returns a string Value.
func Str(s string) Value { return Value{Kind: String, Str: s} }

// StrOrNull returns a string Value, or Null for the empty string. Normalised
// fields that the input did not carry are empty strings in Event; rules see
// them as null, as Elastic would.
func StrOrNull(s string) Value {
	if s == "" {
		return Value{}
	}
	return Value{Kind: String, Str: s}
}

// Num returns a number Value.
func Num(n float64) Value { return Value{Kind: Number, Num: n} }

// BoolVal returns a bool Value.
func BoolVal(b bool) Value { return Value{Kind: Bool, Bool: b} }

// IsNull reports whether v is null or absent.
func (v Value) IsNull() bool { return v.Kind == Null }

// FromAny converts a decoded JSON value (encoding/json conventions) to a Value.
func FromAny(a any) Value {
	switch x := a.(type) {
	case nil:
		return Value{}
	case string:
		return Str(x)
	case float64:
		return Num(x)
	case int:
		return Num(float64(x))
	case int64:
		return Num(float64(x))
	case bool:
		return BoolVal(x)
	case []any:
		l := make([]Value, len(x))
		for i, e := range x {
			l[i] = FromAny(e)
		}
		return Value{Kind: List, List: l}
	case map[string]any:
		return Value{Kind: Object, Obj: x}
	}
	return Value{}
}

// Any converts v back to a plain Go value (for JSON output).
func (v Value) Any() any {
	switch v.Kind {
	case String:
		return v.Str
	case Number:
		return v.Num
	case Bool:
		return v.Bool
	case List:
		l := make([]any, len(v.List))
		for i, e := range v.List {
			l[i] = e.Any()
		}
		return l
	case Object:
		return v.Obj
	}
	return nil
}

// Text renders v as a string the way EQL's string functions and alert group
// values see it: strings as they are, numbers without trailing zeros, bools as
// true/false, null as "".
func (v Value) Text() string {
	switch v.Kind {
	case String:
		return v.Str
	case Number:
		return strconv.FormatFloat(v.Num, 'f', -1, 64)
	case Bool:
		return strconv.FormatBool(v.Bool)
	case List:
		parts := make([]string, len(v.List))
		for i, e := range v.List {
			parts[i] = e.Text()
		}
		return strings.Join(parts, ",")
	}
	return ""
}
