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
// has grown, and runs at about the speed of fastjson.ValidateBytes or faster.
//
// Only the top-level object of the document and of each record is indexed
// (object); every other value — most of a CloudTrail record — is checked by
// skip, one loop with an explicit stack rather than a call per value.
// Strings, most of the bytes, are scanned eight bytes at a time, and the
// common case (no escape) inline in the hot loops.
//
// Errors are reported where a left-to-right scan first meets them, so that
// the offset is the same whichever path scanned the bytes. fail returns the
// end of the input, so that once a scan has failed every caller runs into
// the end and stops, without testing failure after each value.
type jsonIndexer struct {
	b       []byte
	depth   int            // nesting of the object or list being indexed
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
	if records != nil {
		*records = (*records)[:0]
	}
	top, ok := s.document()
	s.b, s.records = nil, nil
	return top, ok
}

// document scans s.b for indexDocument.
func (s *jsonIndexer) document() (recordIndex, bool) {
	b := s.b
	var top recordIndex
	i := ws(b, 0)
	if i == len(b) {
		s.fail(problemEmpty, i)
		return top, false
	}
	top.start, top.kind = int32(i), kindOf(b[i])
	switch {
	case b[i] == '{':
		i = s.object(i+1, &top, true)
	case b[i] == '[' && s.records != nil:
		i = s.recordList(i + 1)
	default:
		i = s.skip(i)
	}
	if s.failure != problemNone {
		return top, false
	}
	top.end = int32(i)
	if i = ws(b, i); i != len(b) {
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

// ws returns the offset of the first non-whitespace byte of b at or after i.
func ws(b []byte, i int) int {
	for ; i < len(b); i++ {
		if c := b[i]; c > ' ' || c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			break
		}
	}
	return i
}

// object scans an object whose '{' is at i-1 and indexes its keys into rec;
// top says this is the document's top-level object, whose "Records" array
// is the record list. The values of keys not indexed are left to skip.
func (s *jsonIndexer) object(i int, rec *recordIndex, top bool) int {
	if s.depth++; s.depth > maxNesting {
		return s.fail(problemTooDeep, i)
	}
	b := s.b
	i = ws(b, i)
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
		keyEnd, keyEscaped := nextSpecial(b, i+1), false // str, inlined
		if keyEnd < len(b) && b[keyEnd] == '"' {
			keyEnd++
		} else {
			keyEnd, keyEscaped = s.strRest(keyEnd)
		}
		if keyEnd >= len(b) { // a failure, or nothing after the key
			return s.fail(problemTruncated, keyEnd)
		}
		var slot *valueSpan
		if keyEscaped {
			rec.escapedKey = true
		} else {
			slot = rec.noteKey(b[i+1 : keyEnd-1])
		}
		if i = keyEnd; b[i] != ':' {
			if i = ws(b, i); i >= len(b) {
				return s.fail(problemTruncated, i)
			}
			if b[i] != ':' {
				return s.fail(problemSyntax, i)
			}
		}
		i = ws(b, i+1)
		switch {
		case slot != nil && slot.kind == 0 && i < len(b):
			i = s.indexedValue(i, slot, top && slot == &rec.records)
		case i < len(b) && b[i] == '"': // str, inlined
			if i = nextSpecial(b, i+1); i < len(b) && b[i] == '"' {
				i++
			} else {
				i, _ = s.strRest(i)
			}
		default:
			i = s.skip(i)
		}
		if i < len(b) && b[i] <= ' ' {
			i = ws(b, i)
		}
		if i >= len(b) {
			return s.fail(problemTruncated, i)
		}
		switch b[i] {
		case ',':
			i = ws(b, i+1)
		case '}':
			s.depth--
			return i + 1
		default:
			return s.fail(problemSyntax, i)
		}
	}
}

// indexedValue scans the value at i of an indexed key into slot; list says
// that the value, if an array, is the document's record list.
func (s *jsonIndexer) indexedValue(i int, slot *valueSpan, list bool) int {
	slot.kind = kindOf(s.b[i])
	end := 0
	switch {
	case slot.kind == '"':
		end, slot.escaped = s.str(i + 1)
		slot.start, slot.end = int32(i+1), int32(end-1)
		return end
	case slot.kind == '[' && list && s.records != nil:
		end = s.recordList(i + 1)
	default:
		end = s.skip(i)
	}
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

// recordList scans the document's record list, whose '[' is at i-1, and
// indexes each element as a record.
func (s *jsonIndexer) recordList(i int) int {
	if s.depth++; s.depth > maxNesting {
		return s.fail(problemTooDeep, i)
	}
	b := s.b
	i = ws(b, i)
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
		if b[i] == '{' {
			i = s.object(i+1, rec, false)
		} else {
			i = s.skip(i)
		}
		rec.end = int32(i)
		if i = ws(b, i); i >= len(b) {
			return s.fail(problemTruncated, i)
		}
		switch b[i] {
		case ',':
			i = ws(b, i+1)
		case ']':
			s.depth--
			return i + 1
		default:
			return s.fail(problemSyntax, i)
		}
	}
}

// skip scans the value at i, which is not indexed, and returns the offset
// after it. It is one loop over the values of nested arrays and objects, a
// state machine (a value at i; a string at i, a key or not; after a value at
// i; a key at i) rather than a call per value: depth counts the levels (from
// s.depth, the level of the value's container) and objects has a bit per
// level, set for an object, clear for an array, which tells what may follow
// a value. Strings, the bulk of the bytes, are scanned inline (see str).
func (s *jsonIndexer) skip(i int) int {
	b := s.b
	base, depth := s.depth, s.depth
	var objects [maxNesting / 64]uint64 // level d is an object: bit (d-1)%64 of word (d-1)/64
	var c byte
	isKey := false

value: // A value at i.
	if i >= len(b) {
		return s.fail(problemTruncated, i)
	}
	switch c = b[i]; c {
	case '"':
		isKey = false
		goto str
	case '{', '[':
		if depth++; depth > maxNesting {
			return s.fail(problemTooDeep, i+1)
		}
		word, bit := &objects[(depth-1)>>6&1], uint64(1)<<((depth-1)&63)
		if i = ws(b, i+1); c == '[' {
			*word &^= bit
			if i < len(b) && b[i] == ']' {
				depth--
				i++
				goto next
			}
			goto value
		}
		*word |= bit
		if i < len(b) && b[i] == '}' {
			depth--
			i++
			goto next
		}
		goto key
	case 't':
		i = s.literal(i, "true")
	case 'f':
		i = s.literal(i, "false")
	case 'n':
		i = s.literal(i, "null")
	default:
		i = s.number(i)
	}

next: // After a value: close the containers it ends, find the next value.
	if depth == base {
		return i
	}
	if i < len(b) && b[i] <= ' ' {
		i = ws(b, i)
	}
	if i >= len(b) {
		return s.fail(problemTruncated, i)
	}
	switch c, object := b[i], objects[(depth-1)>>6&1]>>((depth-1)&63)&1 != 0; {
	case c == ',':
		if i = ws(b, i+1); object {
			goto key
		}
		goto value
	case c == '}' && object, c == ']' && !object:
		depth--
		i++
		goto next
	}
	return s.fail(problemSyntax, i)

key: // A key at i.
	if i >= len(b) {
		return s.fail(problemTruncated, i)
	}
	if b[i] != '"' {
		return s.fail(problemSyntax, i)
	}
	isKey = true

str: // A string at i, a key if isKey, and then its colon.
	if i = nextSpecial(b, i+1); i < len(b) && b[i] == '"' { // str, inlined
		i++
	} else {
		i, _ = s.strRest(i)
	}
	if !isKey {
		goto next
	}
	if i < len(b) && b[i] == ':' {
		i = ws(b, i+1)
		goto value
	}
	if i = ws(b, i); i >= len(b) {
		return s.fail(problemTruncated, i)
	}
	if b[i] != ':' {
		return s.fail(problemSyntax, i)
	}
	i = ws(b, i+1)
	goto value
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

// specials flags the quotes, backslashes and control characters among the
// eight bytes of x: the high bit of their bytes is set in the result
// (classic "has zero byte" / "has less than" bit tricks; the lowest flagged
// byte is always a true match, bytes above it may be false ones). Flipping
// bit 1 of every byte maps the quote (0x22) to 0x20 and the control
// characters onto themselves, so one "less than 0x21" test finds both; the
// backslash is a zero byte once flipped to 0. Neither flip touches the high
// bit, so one &^ x drops the bytes of 0x80 and above for both tests.
func specials(x uint64) uint64 {
	quoteOrControl := (x ^ (swarOnes * 0x02)) - swarOnes*0x21
	backslash := (x ^ (swarOnes * '\\')) - swarOnes
	return (quoteOrControl | backslash) &^ x & swarHighs
}

// str scans a string whose opening quote is at i-1. It returns the offset
// after the closing quote and whether the string holds escape sequences. A
// string with no special byte but its closing quote, the common case, is
// done with one nextSpecial; strRest takes over from anything else. The hot
// loops (object, skip) inline this function by hand, to save the call.
func (s *jsonIndexer) str(i int) (int, bool) {
	b := s.b
	if i = nextSpecial(b, i); i < len(b) && b[i] == '"' {
		return i + 1, false
	}
	return s.strRest(i)
}

// nextSpecial returns the offset of the first quote, backslash or control
// character at or after i, looking eight bytes at a time; when there is
// none before the last eight bytes of b, it returns where it stopped, in
// them.
func nextSpecial(b []byte, i int) int {
	for ; i < len(b)-7; i += 8 { // not i+8 <= len(b): this way has fewer bounds checks
		if m := specials(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	return i
}

// strRest goes on scanning a string, from i, which holds no escape sequence
// before i, for str.
func (s *jsonIndexer) strRest(i int) (int, bool) {
	b := s.b
	escaped := false
	for {
		i = nextSpecial(b, i)
		for i < len(b) && b[i] != '"' && b[i] != '\\' && b[i] >= 0x20 {
			i++
		}
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
