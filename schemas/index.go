package schemas

import (
	"encoding/binary"
	"fmt"
	"math/bits"

	"github.com/valyala/fastjson"
)

// The first pass over a message: a hand-written JSON checker that validates
// strict JSON without allocating, notes the top-level keys of the message and
// of each record in a list, and so lets the decoder filter a CloudTrail
// record of another service on its real eventSource before any parse.

// maxNesting bounds the nesting of arrays and objects in a message. fastjson
// accepts 300 levels, so whatever the indexer accepts, fastjson parses.
const maxNesting = 128

// valueSpan locates the value of one indexed key. For a string, start and end
// delimit its content without the quotes.
type valueSpan struct {
	start, end int32
	kind       byte // 0 when absent, else see kindOf
	escaped    bool // a string holding escape sequences
}

// recordKeys is a set of the top-level keys that tell the input shapes
// apart.
type recordKeys uint16

const (
	keyEventVersion recordKeys = 1 << iota
	keyEventSource
	keyEventName
	keyRecords
	keyLogEvents
	keyMessageType
	keyCloudTrailEvent
	keyDetailType
	keyDetail
	keyDigestStartTime
	keyDigestEndTime
	keyDigestS3Object
	keyLogFiles
	keySchemaType

	// keysEnvelope are the keys of envelopes, which carry records rather
	// than being one.
	keysEnvelope = keyRecords | keyLogEvents | keyMessageType | keyCloudTrailEvent | keyDetailType
	// keysSubscription mark a CloudWatch Logs subscription message.
	keysSubscription = keyLogEvents | keyMessageType
)

// recordKey returns the bit of a top-level key, or 0.
func recordKey(name []byte) recordKeys {
	switch string(name) {
	case "eventVersion":
		return keyEventVersion
	case "eventSource":
		return keyEventSource
	case "eventName":
		return keyEventName
	case "Records":
		return keyRecords
	case "logEvents":
		return keyLogEvents
	case "messageType":
		return keyMessageType
	case "CloudTrailEvent":
		return keyCloudTrailEvent
	case "detail-type":
		return keyDetailType
	case "detail":
		return keyDetail
	case "digestStartTime":
		return keyDigestStartTime
	case "digestEndTime":
		return keyDigestEndTime
	case "digestS3Object":
		return keyDigestS3Object
	case "logFiles":
		return keyLogFiles
	case "schemaType":
		return keySchemaType
	}
	return 0
}

// keysOf returns the recordKeys of a parsed object (keys unescaped).
func keysOf(v *fastjson.Value) recordKeys {
	var keys recordKeys
	v.GetObject().Visit(func(k []byte, _ *fastjson.Value) { keys |= recordKey(k) })
	return keys
}

// has reports whether all of want are in k.
func (k recordKeys) has(want recordKeys) bool { return k&want == want }

// hasAny reports whether any of want is in k.
func (k recordKeys) hasAny(want recordKeys) bool { return k&want != 0 }

// recordIndex is what the first pass learns about one record (or about the
// top-level value of a message) without parsing it.
type recordIndex struct {
	start, end int32 // the record's bytes in the scanned document
	kind       byte  // see kindOf

	// keys are the top-level keys of an object among recordKeys; keys
	// holding escape sequences are not matched and set escapedKey instead.
	keys       recordKeys
	escapedKey bool

	// Values of top-level keys, first occurrence.
	eventSource, eventName, records, detail valueSpan
}

// keysOfRecord returns the recordKeys of the record idx, parsed as v: from
// the index, or from v when the index may have missed an escaped key.
func keysOfRecord(idx *recordIndex, v *fastjson.Value) recordKeys {
	if idx.escapedKey {
		return keysOf(v)
	}
	return idx.keys
}

// bytes returns the record's bytes in the scanned document doc.
func (r *recordIndex) bytes(doc []byte) []byte { return doc[r.start:r.end] }

// bytes returns the value's bytes (a string's content) in the scanned
// document doc.
func (v valueSpan) bytes(doc []byte) []byte { return doc[v.start:v.end] }

// kindOf classifies a JSON value by its first byte: '{' object, '[' array,
// '"' string, '0' number, 't' or 'f' bool, 'n' null.
func kindOf(c byte) byte {
	switch c {
	case '{', '[', '"', 't', 'f', 'n':
		return c
	}
	return '0'
}

// kindName names a kindOf class: "object", "string", …
func kindName(k byte) string {
	switch k {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case '0':
		return "number"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "missing"
}

// kindArticle is kindName for a detail sentence: "a string", "an array".
func kindArticle(k byte) string {
	switch k {
	case 0:
		return "missing"
	case 'n':
		return "null"
	case '{', '[':
		return "an " + kindName(k)
	}
	return "a " + kindName(k)
}

// Problems the indexer reports.
const (
	problemNone = iota
	problemEmpty
	problemTruncated
	problemSyntax
	problemTooDeep
	problemTrailing
)

// jsonIndexer is the first pass over a message. It checks that the bytes are
// exactly one JSON value (RFC 8259, nesting at most maxNesting) and indexes
// the top-level keys that tell the input shapes apart, for the document and
// for each record of its record list (the elements of a top-level array or of
// a top-level "Records" array). It does not allocate once its record slice
// has grown, and runs at about the speed of fastjson.ValidateBytes or faster:
// strings, most of a CloudTrail record, are scanned eight bytes at a time.
type jsonIndexer struct {
	b       []byte
	depth   int
	records *[]recordIndex // where to list records; nil: do not

	failure int // one of the problem constants
	at      int // offset of the failure
}

// indexDocument validates doc and returns the index of its top-level value.
// When records is not nil, the records of the document's record list are
// indexed into it (it is reset first). On failure it returns false and
// problem describes why.
func (s *jsonIndexer) indexDocument(doc []byte, records *[]recordIndex) (recordIndex, bool) {
	*s = jsonIndexer{b: doc, records: records}
	defer func() { s.b = nil; s.records = nil }()
	if records != nil {
		*records = (*records)[:0]
	}
	var top recordIndex
	i := s.ws(0)
	if i == len(doc) {
		s.fail(problemEmpty, i)
		return top, false
	}
	top.start, top.kind = int32(i), kindOf(doc[i])
	i = s.value(i, &top, true)
	if s.failure != problemNone {
		return top, false
	}
	top.end = int32(i)
	if i = s.ws(i); i != len(doc) {
		s.fail(problemTrailing, i)
		return top, false
	}
	return top, true
}

// problem describes the last failure, for a MalformedError detail. It names
// offsets only, never content.
func (s *jsonIndexer) problem() string {
	switch s.failure {
	case problemEmpty:
		return "empty message"
	case problemTruncated:
		return "truncated JSON"
	case problemTooDeep:
		return fmt.Sprintf("nested deeper than %d levels", maxNesting)
	case problemTrailing:
		return fmt.Sprintf("unexpected data after the JSON value at offset %d", s.at)
	}
	return fmt.Sprintf("not valid JSON (offset %d)", s.at)
}

// fail records the first failure (a syntax error at the end of the input is
// a truncation) and returns the end of the input, which stops every caller.
func (s *jsonIndexer) fail(problem, at int) int {
	if s.failure == problemNone {
		if at >= len(s.b) && problem == problemSyntax {
			problem = problemTruncated
		}
		s.failure, s.at = problem, at
	}
	return len(s.b)
}

// ws returns the offset of the first non-whitespace byte at or after i.
func (s *jsonIndexer) ws(i int) int {
	for i < len(s.b) {
		switch s.b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// value scans the value at i and returns the offset after it. rec, when not
// nil, receives the keys of the value if it is an object; list says that the
// value, if an array, is the document's record list.
func (s *jsonIndexer) value(i int, rec *recordIndex, list bool) int {
	if i >= len(s.b) {
		return s.fail(problemTruncated, i)
	}
	switch s.b[i] {
	case '{':
		return s.object(i+1, rec, list)
	case '[':
		if list && s.records != nil {
			return s.recordList(i + 1)
		}
		return s.array(i + 1)
	case '"':
		end, _ := s.str(i + 1)
		return end
	case 't':
		return s.literal(i, "true")
	case 'f':
		return s.literal(i, "false")
	case 'n':
		return s.literal(i, "null")
	}
	return s.number(i)
}

// literal scans true, false or null (word) at i.
func (s *jsonIndexer) literal(i int, word string) int {
	if len(s.b)-i < len(word) {
		if string(s.b[i:]) == word[:len(s.b)-i] {
			return s.fail(problemTruncated, len(s.b))
		}
		return s.fail(problemSyntax, i)
	}
	if string(s.b[i:i+len(word)]) != word {
		return s.fail(problemSyntax, i)
	}
	return i + len(word)
}

// digits returns the offset after the decimal digits at i.
func (s *jsonIndexer) digits(i int) int {
	for i < len(s.b) && s.b[i] >= '0' && s.b[i] <= '9' {
		i++
	}
	return i
}

// number scans a number at i: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *jsonIndexer) number(i int) int {
	b := s.b
	if b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return s.fail(problemTruncated, i)
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		i = s.digits(i)
	default:
		return s.fail(problemSyntax, i)
	}
	if i < len(b) && b[i] == '.' {
		j := s.digits(i + 1)
		if j == i+1 {
			return s.fail(problemSyntax, j)
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := s.digits(i)
		if j == i {
			return s.fail(problemSyntax, j)
		}
		i = j
	}
	return i
}

// SWAR constants: one in every byte, and every byte's high bit.
const (
	swarOnes  = 0x0101010101010101
	swarHighs = 0x8080808080808080
)

// str scans a string whose opening quote is at i-1. It returns the offset
// after the closing quote and whether the string holds escape sequences.
// Eight bytes at a time it looks for a quote, a backslash or a control
// character (classic "has zero byte" / "has less than" bit tricks; the
// lowest flagged byte is always a true match). Flipping bit 1 of every byte
// maps the quote (0x22) to 0x20 and the control characters onto themselves,
// so one "less than 0x21" test finds both.
func (s *jsonIndexer) str(i int) (int, bool) {
	b := s.b
	escaped := false
	for {
		for i+8 <= len(b) {
			x := binary.LittleEndian.Uint64(b[i:])
			qc := x ^ (swarOnes * 0x02)
			slash := x ^ (swarOnes * '\\')
			m := ((qc - swarOnes*0x21) &^ qc) | ((slash - swarOnes) &^ slash)
			if m &= swarHighs; m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				goto special
			}
			i += 8
		}
		for i < len(b) && b[i] != '"' && b[i] != '\\' && b[i] >= 0x20 {
			i++
		}
	special:
		if i >= len(b) {
			return s.fail(problemTruncated, i), escaped
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, escaped
		case c < 0x20:
			return s.fail(problemSyntax, i), escaped
		}
		// A backslash.
		escaped = true
		if i+1 >= len(b) {
			return s.fail(problemTruncated, i+1), escaped
		}
		switch b[i+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i += 2
		case 'u':
			if i+6 > len(b) {
				return s.fail(problemTruncated, len(b)), escaped
			}
			if !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
				return s.fail(problemSyntax, i), escaped
			}
			i += 6
		default:
			return s.fail(problemSyntax, i), escaped
		}
	}
}

// isHex reports whether c is a hexadecimal digit.
func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// enter notes one more level of nesting, failing past maxNesting.
func (s *jsonIndexer) enter(i int) bool {
	s.depth++
	if s.depth > maxNesting {
		s.fail(problemTooDeep, i)
		return false
	}
	return true
}

// object scans an object whose '{' is at i-1. rec, when not nil, receives
// its keys; top says this is the document's top-level object, whose
// "Records" array is the record list.
func (s *jsonIndexer) object(i int, rec *recordIndex, top bool) int {
	if !s.enter(i) {
		return len(s.b)
	}
	b := s.b
	i = s.ws(i)
	if i < len(b) && b[i] == '}' {
		s.depth--
		return i + 1
	}
	for {
		if i >= len(b) {
			return s.fail(problemTruncated, i)
		}
		if b[i] != '"' {
			return s.fail(problemSyntax, i)
		}
		keyEnd, keyEscaped := s.str(i + 1)
		if s.failure != problemNone {
			return keyEnd
		}
		var slot *valueSpan
		list := false
		if rec != nil {
			if keyEscaped {
				rec.escapedKey = true
			} else {
				slot = rec.noteKey(b[i+1 : keyEnd-1])
				list = top && slot == &rec.records
			}
		}
		i = s.ws(keyEnd)
		if i >= len(b) {
			return s.fail(problemTruncated, i)
		}
		if b[i] != ':' {
			return s.fail(problemSyntax, i)
		}
		i = s.ws(i + 1)
		if slot != nil && slot.kind == 0 && i < len(b) {
			i = s.indexedValue(i, slot, list)
		} else {
			i = s.value(i, nil, false)
		}
		if s.failure != problemNone {
			return i
		}
		i = s.ws(i)
		if i >= len(b) {
			return s.fail(problemTruncated, i)
		}
		switch b[i] {
		case ',':
			i = s.ws(i + 1)
		case '}':
			s.depth--
			return i + 1
		default:
			return s.fail(problemSyntax, i)
		}
	}
}

// indexedValue scans the value at i of an indexed key into slot.
func (s *jsonIndexer) indexedValue(i int, slot *valueSpan, list bool) int {
	slot.kind = kindOf(s.b[i])
	if slot.kind == '"' {
		end, escaped := s.str(i + 1)
		slot.start, slot.end, slot.escaped = int32(i+1), int32(end-1), escaped
		return end
	}
	end := s.value(i, nil, list)
	slot.start, slot.end = int32(i), int32(end)
	return end
}

// noteKey notes a top-level key of a record and returns where its value is
// to be recorded, or nil.
func (r *recordIndex) noteKey(key []byte) *valueSpan {
	k := recordKey(key)
	r.keys |= k
	switch k {
	case keyEventSource:
		return &r.eventSource
	case keyEventName:
		return &r.eventName
	case keyRecords:
		return &r.records
	case keyDetail:
		return &r.detail
	}
	return nil
}

// array scans an array whose '[' is at i-1.
func (s *jsonIndexer) array(i int) int {
	if !s.enter(i) {
		return len(s.b)
	}
	b := s.b
	i = s.ws(i)
	if i < len(b) && b[i] == ']' {
		s.depth--
		return i + 1
	}
	for {
		i = s.value(i, nil, false)
		if s.failure != problemNone {
			return i
		}
		if i = s.ws(i); i >= len(b) {
			return s.fail(problemTruncated, i)
		}
		switch b[i] {
		case ',':
			i = s.ws(i + 1)
		case ']':
			s.depth--
			return i + 1
		default:
			return s.fail(problemSyntax, i)
		}
	}
}

// recordList scans the document's record list, whose '[' is at i-1, and
// indexes each element as a record.
func (s *jsonIndexer) recordList(i int) int {
	if !s.enter(i) {
		return len(s.b)
	}
	b := s.b
	i = s.ws(i)
	if i < len(b) && b[i] == ']' {
		s.depth--
		return i + 1
	}
	for {
		if i >= len(b) {
			return s.fail(problemTruncated, i)
		}
		*s.records = append(*s.records, recordIndex{start: int32(i), kind: kindOf(b[i])})
		rec := &(*s.records)[len(*s.records)-1]
		i = s.value(i, rec, false)
		if s.failure != problemNone {
			return i
		}
		rec.end = int32(i)
		if i = s.ws(i); i >= len(b) {
			return s.fail(problemTruncated, i)
		}
		switch b[i] {
		case ',':
			i = s.ws(i + 1)
		case ']':
			s.depth--
			return i + 1
		default:
			return s.fail(problemSyntax, i)
		}
	}
}
