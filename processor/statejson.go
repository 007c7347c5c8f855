package processor

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/bedrockwatch/bedrockwatch/schemas"
)

// Hand-written JSON encoders for the state the engine rewrites on every
// event: snaps, sequence candidates, new-term and outlier records. They
// write exactly the bytes encoding/json writes for the same values (field
// order, omitempty, nil slices as null, HTML-safe string escaping, float
// format), so stores and changelogs written before them read the same —
// TestStateJSONMatchesEncodingJSON holds them to it — at a tenth of the
// cost: encoding/json walks the struct by reflection and, for a sequence
// holding 32 candidates, re-encoded some 12 KB per event.
//
// Values encoding/json would refuse (a time outside years 0–9999, a NaN or
// infinite float) make the encoders report false; the caller then falls
// back to encoding/json, which returns the error.

// appendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it with HTML escaping on (its default).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if i+8 <= len(s) && plainASCII8(binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(s[i:]), 8))) {
			i += 8
			continue
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// plainASCII8 reports whether the 8 bytes of x are all ASCII that a JSON
// string holds unescaped: not a control character, '"', '\\', or one of
// the HTML-escaped '<', '>' and '&'. Each test is the exact "has a zero
// byte" bit trick: (v - 0x01…) &^ v & 0x80… is non-zero iff a byte of v is
// zero.
func plainASCII8(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	zero := func(v uint64) uint64 { return (v - ones) &^ v & highs }
	bad := x & highs                    // non-ASCII
	bad |= (x - ones*0x20) &^ x & highs // a byte below 0x20
	bad |= zero(x^ones*'"') | zero(x^ones*'\\') | zero(x^ones*'<') | zero(x^ones*'>') | zero(x^ones*'&')
	return bad == 0
}

// appendJSONTime appends t as encoding/json does (RFC 3339 with
// nanoseconds, quoted).
func appendJSONTime(b []byte, t time.Time) ([]byte, bool) {
	if y := t.Year(); y < 0 || y > 9999 {
		return b, false
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), true
}

// appendJSONFloat appends f as encoding/json writes a float64.
func appendJSONFloat(b []byte, f float64) ([]byte, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 becomes e-9, as encoding/json writes it.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, true
}

func appendJSONBool(b []byte, v bool) []byte {
	if v {
		return append(b, "true"...)
	}
	return append(b, "false"...)
}

// appendKey appends ,"name": (without the comma for the first field).
func appendKey(b []byte, name string, first bool) []byte {
	if !first {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, name...)
	return append(b, '"', ':')
}

// appendOptString appends ,"name":"v" when v is not empty.
func appendOptString(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	return appendJSONString(appendKey(b, name, false), v)
}

// appendJSON appends the JSON of s: the bytes json.Marshal(s) writes.
func (s *snap) appendJSON(b []byte) ([]byte, bool) {
	s.resolve()
	var ok bool
	b = appendKey(append(b, '{'), "t", true)
	if b, ok = appendJSONTime(b, s.T); !ok {
		return b, false
	}
	b = appendKey(b, "o", false)
	b = append(b, '{')
	o := &s.O
	first := true
	if o.Topic != "" {
		b = appendJSONString(appendKey(b, "topic", true), o.Topic)
		first = false
	}
	b = strconv.AppendInt(appendKey(b, "partition", first), int64(o.Partition), 10)
	b = strconv.AppendInt(appendKey(b, "offset", false), o.Offset, 10)
	b = appendOptString(b, "file", o.File)
	if o.Line != 0 {
		b = strconv.AppendInt(appendKey(b, "line", false), int64(o.Line), 10)
	}
	if o.Index != 0 {
		b = strconv.AppendInt(appendKey(b, "index", false), int64(o.Index), 10)
	}
	b = append(b, '}')
	b = appendJSONString(appendKey(b, "id", false), s.ID)
	b = appendJSONString(appendKey(b, "ds", false), s.DS)
	b = appendOptString(b, "a", s.Act)
	b = appendOptString(b, "out", s.Out)
	b = appendOptString(b, "err", s.Err)
	b = appendOptString(b, "acct", s.Acct)
	b = appendOptString(b, "arn", s.ARN)
	b = appendOptString(b, "pt", s.PType)
	b = appendOptString(b, "key", s.Key)
	b = appendOptString(b, "user", s.User)
	b = appendOptString(b, "host", s.Host)
	b = appendOptString(b, "ip", s.IP)
	b = appendOptString(b, "ua", s.UA)
	b = appendOptString(b, "model", s.Model)
	if s.PTok != nil {
		b = strconv.AppendInt(appendKey(b, "ptok", false), *s.PTok, 10)
	}
	if s.CTok != nil {
		b = strconv.AppendInt(appendKey(b, "ctok", false), *s.CTok, 10)
	}
	if p := s.Prompt; p != nil {
		b = appendKey(b, "prompt", false)
		b = appendJSONString(appendKey(append(b, '{'), "text", true), p.Text)
		b = strconv.AppendInt(appendKey(b, "length", false), int64(p.Length), 10)
		b = appendJSONBool(appendKey(b, "truncated", false), p.Truncated)
		b = strconv.AppendInt(appendKey(b, "masked", false), int64(p.Masked), 10)
		b = append(b, '}')
	}
	if len(s.Fields) > 0 {
		// Rare (rules with evidence fields, endpoint events): the map's
		// values are of any type, so encoding/json writes it.
		raw, err := json.Marshal(s.Fields)
		if err != nil {
			return b, false
		}
		b = append(appendKey(b, "f", false), raw...)
	}
	return append(b, '}'), true
}

// appendJSONCached is appendJSON that encodes s once and copies the bytes
// on later calls.
func (s *snap) appendJSONCached(b []byte) ([]byte, bool) {
	if s.enc != nil { // a lazy snap has none yet: appendJSON resolves it
		return append(b, s.enc...), true
	}
	n := len(b)
	b, ok := s.appendJSON(b)
	if ok {
		s.enc = append([]byte(nil), b[n:]...)
	}
	return b, ok
}

// appendSnaps appends a []snap as encoding/json does: null when nil.
func appendSnaps(b []byte, l []snap) ([]byte, bool) {
	if l == nil {
		return append(b, "null"...), true
	}
	b = append(b, '[')
	for i := range l {
		if i > 0 {
			b = append(b, ',')
		}
		var ok bool
		if b, ok = l[i].appendJSONCached(b); !ok {
			return b, false
		}
	}
	return append(b, ']'), true
}

func (st *seqState) appendJSON(b []byte) ([]byte, bool) {
	b = appendKey(append(b, '{'), "s", true)
	if st.Steps == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, l := range st.Steps {
			if i > 0 {
				b = append(b, ',')
			}
			var ok bool
			if b, ok = appendSnaps(b, l); !ok {
				return b, false
			}
		}
		b = append(b, ']')
	}
	if len(st.Until) > 0 {
		var ok bool
		if b, ok = appendSnaps(appendKey(b, "u", false), st.Until); !ok {
			return b, false
		}
	}
	b = strconv.AppendInt(appendKey(b, "d", false), st.Deadline, 10)
	return append(b, '}'), true
}

func (st *ntState) appendJSON(b []byte) ([]byte, bool) {
	b = strconv.AppendInt(appendKey(append(b, '{'), "f", true), st.First, 10)
	b = strconv.AppendInt(appendKey(b, "l", false), st.Last, 10)
	if st.Pending != nil {
		var ok bool
		if b, ok = st.Pending.appendJSONCached(appendKey(b, "p", false)); !ok {
			return b, false
		}
	}
	if st.Override != 0 {
		b = strconv.AppendInt(appendKey(b, "ov", false), int64(st.Override), 10)
	}
	b = strconv.AppendInt(appendKey(b, "d", false), st.Deadline, 10)
	return append(b, '}'), true
}

func (st *oOpen) appendJSON(b []byte) ([]byte, bool) {
	b = appendKey(append(b, '{'), "b", true)
	if st.Open == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range st.Open {
			if i > 0 {
				b = append(b, ',')
			}
			var ok bool
			if b, ok = st.Open[i].appendJSON(b); !ok {
				return b, false
			}
		}
		b = append(b, ']')
	}
	b = strconv.AppendInt(appendKey(b, "seq", false), int64(st.Seq), 10)
	b = strconv.AppendInt(appendKey(b, "d", false), st.Deadline, 10)
	return append(b, '}'), true
}

func (bk *oBucket) appendJSON(b []byte) ([]byte, bool) {
	var ok bool
	b = strconv.AppendInt(appendKey(append(b, '{'), "s", true), bk.S, 10)
	if b, ok = appendJSONFloat(appendKey(b, "v", false), bk.V); !ok {
		return b, false
	}
	b = strconv.AppendInt(appendKey(b, "n", false), int64(bk.N), 10)
	b = strconv.AppendInt(appendKey(b, "l", false), bk.Last, 10)
	if bk.Top != nil {
		if b, ok = bk.Top.appendJSONCached(appendKey(b, "top", false)); !ok {
			return b, false
		}
	}
	if bk.PTok != 0 {
		b = strconv.AppendInt(appendKey(b, "pt", false), bk.PTok, 10)
	}
	if bk.CTok != 0 {
		b = strconv.AppendInt(appendKey(b, "ct", false), bk.CTok, 10)
	}
	b = appendKey(b, "cost", false)
	if b, ok = bk.Cost.appendJSON(b); !ok {
		return b, false
	}
	return append(b, '}'), true
}

func (c *costTally) appendJSON(b []byte) ([]byte, bool) {
	b = append(b, '{')
	first := true
	if c.USD != 0 {
		var ok bool
		if b, ok = appendJSONFloat(appendKey(b, "usd", true), c.USD); !ok {
			return b, false
		}
		first = false
	}
	if c.Priced {
		b = appendJSONBool(appendKey(b, "p", first), true)
		first = false
	}
	if len(c.Unknown) > 0 {
		b = appendStrings(appendKey(b, "unk", first), c.Unknown)
	}
	return append(b, '}'), true
}

// jsonAppender is a state record with a hand-written encoder.
type jsonAppender interface {
	appendJSON(b []byte) ([]byte, bool)
}

// marshalState encodes v with its own encoder when it has one, else (or
// when that refuses the value) with encoding/json. scratch, if not nil, is
// a buffer to encode in, kept for the next call; the result is a copy of
// the exact size, for the store to keep.
func marshalState(v any, scratch *[]byte) ([]byte, error) {
	if b, ok := v.(binaryState); ok {
		return b.encode(), nil
	}
	if a, ok := v.(jsonAppender); ok {
		var buf []byte
		if scratch != nil {
			buf = (*scratch)[:0]
		}
		if b, ok := a.appendJSON(buf); ok {
			if scratch == nil {
				return b, nil
			}
			if cap(b) <= 1<<20 {
				*scratch = b
			}
			return append(make([]byte, 0, len(b)), b...), nil
		}
	}
	return json.Marshal(v)
}

// binaryState is a state record stored in an encoding of its own, not JSON
// (an outlier baseline: oHist).
type binaryState interface{ encode() []byte }

func (st *thrState) appendJSON(b []byte) ([]byte, bool) {
	b = append(b, '{')
	first := true
	if len(st.Times) > 0 {
		b = append(appendKey(b, "ts", true), '"')
		b = base64.StdEncoding.AppendEncode(b, st.Times)
		b = append(b, '"')
		first = false
	}
	if len(st.Vals) > 0 {
		b = append(appendKey(b, "v", first), '{')
		keys := make([]string, 0, len(st.Vals))
		for k := range st.Vals {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(appendJSONString(b, k), ':')
			b = strconv.AppendInt(b, st.Vals[k], 10)
		}
		b = append(b, '}')
		first = false
	}
	b = strconv.AppendInt(appendKey(b, "seq", first), int64(st.Seq), 10)
	if st.Quiet != 0 {
		b = strconv.AppendInt(appendKey(b, "q", false), st.Quiet, 10)
	}
	b = strconv.AppendInt(appendKey(b, "l", false), st.Last, 10)
	if len(st.Unknown) > 0 {
		b = appendStrings(appendKey(b, "unk", false), st.Unknown)
	}
	b = strconv.AppendInt(appendKey(b, "d", false), st.Deadline, 10)
	return append(b, '}'), true
}

func (st *aggState) appendJSON(b []byte) ([]byte, bool) {
	b = appendKey(append(b, '{'), "c", true)
	if st.Counts == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, c := range st.Counts {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, int64(c), 10)
		}
		b = append(b, ']')
	}
	b = strconv.AppendInt(appendKey(b, "n", false), int64(st.N), 10)
	b = strconv.AppendInt(appendKey(b, "seq", false), int64(st.Seq), 10)
	b = strconv.AppendInt(appendKey(b, "l", false), st.Last, 10)
	if st.PTok != 0 {
		b = strconv.AppendInt(appendKey(b, "pt", false), st.PTok, 10)
	}
	if st.CTok != 0 {
		b = strconv.AppendInt(appendKey(b, "ct", false), st.CTok, 10)
	}
	var ok bool
	if b, ok = st.Cost.appendJSON(appendKey(b, "cost", false)); !ok {
		return b, false
	}
	return append(b, '}'), true
}

func (st *suppState) appendJSON(b []byte) ([]byte, bool) {
	var ok bool
	b = appendJSONString(appendKey(append(b, '{'), "id", true), st.FirstID)
	b = appendJSONString(appendKey(b, "subj", false), st.Subject)
	if b, ok = appendJSONTime(appendKey(b, "end", false), st.End); !ok {
		return b, false
	}
	b = strconv.AppendInt(appendKey(b, "n", false), int64(st.Count), 10)
	b = strconv.AppendInt(appendKey(b, "ev", false), int64(st.Evidence), 10)
	b = strconv.AppendInt(appendKey(b, "evn", false), int64(st.EvCount), 10)
	if b, ok = appendJSONTime(appendKey(b, "t0", false), st.Earliest); !ok {
		return b, false
	}
	if b, ok = appendJSONTime(appendKey(b, "t1", false), st.Last); !ok {
		return b, false
	}
	return append(b, '}'), true
}

// appendStrings appends a non-nil []string.
func appendStrings(b []byte, l []string) []byte {
	b = append(b, '[')
	for i, s := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

// appendEvidenceJSON appends the JSON of ev: the bytes json.Marshal(ev)
// writes.
func appendEvidenceJSON(b []byte, ev *schemas.Evidence) ([]byte, bool) {
	var ok bool
	b = appendJSONString(appendKey(append(b, '{'), "dataset", true), ev.Dataset)
	b = appendJSONString(appendKey(b, "event_id", false), ev.EventID)
	if b, ok = appendJSONTime(appendKey(b, "time", false), ev.Time); !ok {
		return b, false
	}
	b = appendOptString(b, "action", ev.Action)
	b = appendOptString(b, "outcome", ev.Outcome)
	b = appendOptString(b, "error_code", ev.ErrorCode)
	b = appendOptString(b, "topic", ev.Topic)
	b = strconv.AppendInt(appendKey(b, "partition", false), int64(ev.Partition), 10)
	b = strconv.AppendInt(appendKey(b, "offset", false), ev.Offset, 10)
	b = appendOptString(b, "file", ev.File)
	if ev.Line != 0 {
		b = strconv.AppendInt(appendKey(b, "line", false), int64(ev.Line), 10)
	}
	if len(ev.Fields) > 0 {
		raw, err := json.Marshal(ev.Fields)
		if err != nil {
			return b, false
		}
		b = append(appendKey(b, "fields", false), raw...)
	}
	return append(b, '}'), true
}
