package schemas

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Differential tests of the first pass (jsonIndexer, index.go) against two
// references: encoding/json.Valid plus a tiny recursive descent written for
// clarity (refIndex), which say what is valid and what the index holds; and
// refIndexer, a frozen copy of the indexer as it was before it was tuned for
// speed, which also says which problem is reported at which offset.

// checkIndex runs doc through the indexer and the references and fails t on
// any difference. The indexer is run with and without a record list.
func checkIndex(t testing.TB, doc []byte) {
	t.Helper()
	input := bytes.Clone(doc)
	var s jsonIndexer
	var ref refIndexer
	for _, listing := range []bool{true, false} {
		var records, refRecords *[]recordIndex
		if listing {
			// Stale entries must be dropped.
			records = &[]recordIndex{{start: 7, keys: keyDetail}}
			refRecords = new([]recordIndex)
		}
		top, ok := s.indexDocument(doc, records)
		refTop, refOK := ref.indexDocument(doc, refRecords)
		if ok != refOK || s.failure != ref.failure || s.at != ref.at {
			t.Fatalf("%q (listing %v): ok %v, problem %d at %d; the original indexer: ok %v, problem %d at %d",
				clip(doc), listing, ok, s.failure, s.at, refOK, ref.failure, ref.at)
		}
		if s.b != nil || s.records != nil {
			t.Fatalf("%q: the indexer keeps references to the document or the records", clip(doc))
		}
		depth := nesting(doc)
		valid := json.Valid(doc)
		switch {
		case valid && depth > maxNesting:
			if ok || s.failure != problemTooDeep {
				t.Fatalf("%q nests %d deep: ok %v, problem %d, want problemTooDeep", clip(doc), depth, ok, s.failure)
			}
			continue
		case ok != valid:
			t.Fatalf("%q: indexer ok %v (problem %d at %d), json.Valid %v", clip(doc), ok, s.failure, s.at, valid)
		case !ok:
			if s.failure == problemNone || s.at < 0 || s.at > len(doc) {
				t.Fatalf("%q: rejected with problem %d at %d", clip(doc), s.failure, s.at)
			}
			continue
		}
		if s.failure != problemNone {
			t.Fatalf("%q: accepted with problem %d", clip(doc), s.failure)
		}
		want, wantRecords := refIndex(doc, listing)
		if top != want || top != refTop {
			t.Fatalf("%q: top-level index\n got %+v\nwant %+v\n original %+v", clip(doc), top, want, refTop)
		}
		if !listing {
			continue
		}
		if len(*records) != len(wantRecords) || len(*records) != len(*refRecords) {
			t.Fatalf("%q: %d records, want %d (the original: %d)", clip(doc), len(*records), len(wantRecords), len(*refRecords))
		}
		for i, r := range *records {
			if r != wantRecords[i] || r != (*refRecords)[i] {
				t.Fatalf("%q: record %d\n got %+v\nwant %+v\n original %+v", clip(doc), i, r, wantRecords[i], (*refRecords)[i])
			}
		}
	}
	if !bytes.Equal(doc, input) {
		t.Fatal("the indexer modified its input")
	}
}

// clip shortens a document for a failure message.
func clip(doc []byte) []byte {
	if len(doc) > 300 {
		return append(doc[:300:300], "…"...)
	}
	return doc
}

// nesting returns the deepest nesting of arrays and objects in doc, counting
// brackets outside strings; it is meaningful for valid JSON only.
func nesting(doc []byte) int {
	depth, deepest, inString := 0, 0, false
	for i := 0; i < len(doc); i++ {
		switch c := doc[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '[' || c == '{':
			depth++
			deepest = max(deepest, depth)
		case c == ']' || c == '}':
			depth--
		}
	}
	return deepest
}

// refIndex computes, by plain recursive descent, the index of the valid JSON
// document doc and, when listing, of the records of its record list: the
// elements of a top-level array, or of the array value of the first
// unescaped "Records" key of a top-level object.
func refIndex(doc []byte, listing bool) (recordIndex, []recordIndex) {
	p := refParser{b: doc}
	p.ws()
	top := p.value(true)
	var records []recordIndex
	if listing {
		var list *valueSpan
		switch {
		case top.kind == '[':
			list = &valueSpan{start: top.start, end: top.end}
		case top.records.kind == '[':
			list = &top.records
		}
		if list != nil {
			p = refParser{b: doc, i: int(list.start) + 1}
			for p.ws(); doc[p.i] != ']'; p.ws() {
				records = append(records, p.value(true))
				p.ws()
				if doc[p.i] == ',' {
					p.i++
				}
			}
		}
	}
	return top, records
}

// refParser walks valid JSON.
type refParser struct {
	b []byte
	i int
}

// refKeys are the indexed keys.
var refKeys = map[string]recordKeys{
	"eventVersion": keyEventVersion, "eventSource": keyEventSource, "eventName": keyEventName,
	"Records": keyRecords, "logEvents": keyLogEvents, "messageType": keyMessageType,
	"CloudTrailEvent": keyCloudTrailEvent, "detail-type": keyDetailType, "detail": keyDetail,
	"digestStartTime": keyDigestStartTime, "digestEndTime": keyDigestEndTime,
	"digestS3Object": keyDigestS3Object, "logFiles": keyLogFiles, "schemaType": keySchemaType,
}

func (p *refParser) ws() {
	for p.i < len(p.b) && strings.IndexByte(" \t\r\n", p.b[p.i]) >= 0 {
		p.i++
	}
}

// str scans the string at p.i and returns its content, raw.
func (p *refParser) str() []byte {
	start := p.i + 1
	for p.i = start; p.b[p.i] != '"'; p.i++ {
		if p.b[p.i] == '\\' {
			p.i++
		}
	}
	p.i++
	return p.b[start : p.i-1]
}

// value scans the value at p.i and returns its index; keys says to index
// the keys of an object.
func (p *refParser) value(keys bool) recordIndex {
	r := recordIndex{start: int32(p.i)}
	switch c := p.b[p.i]; c {
	case '"':
		r.kind = c
		p.str()
	case '[':
		r.kind = c
		p.i++
		for p.ws(); p.b[p.i] != ']'; p.ws() {
			p.value(false)
			p.ws()
			if p.b[p.i] == ',' {
				p.i++
			}
		}
		p.i++
	case '{':
		r.kind = c
		p.i++
		for p.ws(); p.b[p.i] != '}'; p.ws() {
			key := p.str()
			p.ws()
			p.i++ // ':'
			p.ws()
			start := p.i
			v := p.value(false)
			p.ws()
			if p.b[p.i] == ',' {
				p.i++
			}
			if !keys {
				continue
			}
			if bytes.IndexByte(key, '\\') >= 0 {
				r.escapedKey = true
				continue
			}
			r.keys |= refKeys[string(key)]
			var slot *valueSpan
			switch string(key) {
			case "eventSource":
				slot = &r.eventSource
			case "eventName":
				slot = &r.eventName
			case "Records":
				slot = &r.records
			case "detail":
				slot = &r.detail
			}
			if slot != nil && slot.kind == 0 {
				*slot = valueSpan{start: int32(start), end: v.end, kind: v.kind}
				if v.kind == '"' {
					slot.start, slot.end = int32(start+1), v.end-1
					slot.escaped = bytes.IndexByte(p.b[start:v.end], '\\') >= 0
				}
			}
		}
		p.i++
	default:
		r.kind = '0'
		if c == 't' || c == 'f' || c == 'n' {
			r.kind = c
		}
		for p.i < len(p.b) && strings.IndexByte(",]} \t\r\n", p.b[p.i]) < 0 {
			p.i++
		}
		r.end = int32(p.i)
		return r
	}
	r.end = int32(p.i)
	return r
}

// indexSeeds returns documents for the differential tests: hand-written edge
// cases, the schemas fixtures and, when present, every JSON, NDJSON and log
// file of the shared samples, whole and line by line.
func indexSeeds(t testing.TB) [][]byte {
	seeds := []string{
		"", " ", "\t\r\n ", "{}", "[]", " { } ", "\n[\n]\n", "null", "true", "false", "nul", "tru", "fals", "nulL", "trUe", "f",
		`"x"`, `""`, `"`, `"\`, `"\"`, `"\\"`, `"\/\b\f\n\r\t"`, `"\u00e9"`, `"\u00E9\uD83D\uDE00"`, `"\u00g9"`, `"\u00"`, `"\uZ"`,
		`"\x"`, "\"a\x00b\"", "\"\x1f\"", "\"\x7f\x80\xff\"", "\"tab\there\"", `"` + strings.Repeat("abcdefg", 9) + `"`,
		"0", "-0", "1", "-", "-a", "01", "-01", "1.", ".5", "1.5", "1e5", "1E+5", "1e-5", "1e", "1e+", "1.e5", "+1", "0x1", "1.5e3.2", "123456789012345678901234567890",
		"[1,]", "[,1]", "[1 2]", "[1,2", "[1,2,", `{"a"}`, `{"a":}`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `{"a":1`, `{"a":1,`, `{"a"`, `{"a":`, `{"a`,
		`{"a":1}x`, `{"a":1} {}`, "[] ", "{} \x00", "1 2", `"a""b"`, "\xef\xbb\xbf{}",
		` { "eventSource" : "s3.amazonaws.com" , "eventName" : "GetObject" , "Records" : [ { } ] } `,
		`{"eventSource":"s3.amazonaws.com","eventName":"GetObject","eventVersion":"1.08"}`,
		`{"eventSource":"a","eventSource":"b","eventName":1,"eventName":"n"}`,
		`{"eventSource":"s3\u002eamazonaws.com","eventName":"x\"y"}`,
		`{"event\u0053ource":"s3.amazonaws.com","eventName":"x"}`,
		`{"Records":[{"eventSource":"a","eventName":"b"},{"eventSource":"c","Records":[{"eventSource":"d"}]},[],1,"x",null]}`,
		`{"Records":{"eventSource":"a"},"Records":[{"eventSource":"b"}]}`,
		`{"Records":1,"Records":[{"eventSource":"b"}]}`,
		`{"Rec\u006frds":[{"eventSource":"b"}],"Records":[{"eventName":"c"}]}`,
		`[{"eventSource":"a","detail":{"x":[1,{"y":"z"}]}},{"detail-type":"t","detail":"s"},{"logEvents":[],"messageType":"DATA_MESSAGE"}]`,
		`{"detail":{"eventSource":"bedrock.amazonaws.com"},"detail-type":"AWS API Call via CloudTrail"}`,
		`{"digestStartTime":"a","digestEndTime":"b","digestS3Object":"c","logFiles":[],"schemaType":"x","CloudTrailEvent":"{}"}`,
		`[[[]],{"a":[{"b":{}}]},[{"Records":[]}]]`,
		`{"a":[1,2,{"b":[true,false,null,-1.5e-3]}],"c":{"d":{"e":{}}}}`,
	}
	for _, n := range []int{127, 128, 129, 200} {
		seeds = append(seeds,
			strings.Repeat("[", n)+strings.Repeat("]", n),
			strings.Repeat("[", n),
			strings.Repeat(`{"a":`, n)+"1"+strings.Repeat("}", n),
			`{"Records":[`+strings.Repeat(`{"a":`, n-2)+"1"+strings.Repeat("}", n-2)+`]}`,
			`{"Records":[`+strings.Repeat(`[`, n-2)+strings.Repeat("]", n-2)+`]}`,
			strings.Repeat(`[{"x":`, n/2)+`"y"`+strings.Repeat("}]", n/2))
	}
	var out [][]byte
	for _, s := range seeds {
		out = append(out, []byte(s))
	}
	fixtures, _ := filepath.Glob("testdata/*/*.json")
	for _, path := range fixtures {
		if b, err := os.ReadFile(path); err == nil {
			out = append(out, b)
		}
	}
	if _, err := os.Stat(sharedTestdata); err != nil {
		return out
	}
	err := filepath.WalkDir(sharedTestdata, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch filepath.Ext(path) {
		case ".json", ".ndjson", ".log":
		default:
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out = append(out, b)
		if filepath.Ext(path) != ".json" {
			for _, line := range bytes.Split(b, []byte("\n")) {
				if line = bytes.TrimSpace(line); len(line) > 0 {
					out = append(out, line)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestIndexSeeds runs every seed through the differential check.
func TestIndexSeeds(t *testing.T) {
	for _, doc := range indexSeeds(t) {
		checkIndex(t, doc)
	}
}

// TestIndexMutations runs every truncation, and every deletion, replacement
// and insertion of a byte at every offset, of a few real records (alone, in
// a log file and in an array) through the differential check.
func TestIndexMutations(t *testing.T) {
	records := []string{ctS3, ctBedrock, invocationMin, ecsMin}
	if _, err := os.Stat(sharedTestdata); err == nil {
		for _, r := range recordsOfLogFile(t, sample(t, "invictus-ir-aws_dataset/CloudTrail/218007301253_CloudTrail_us-east-1_20230710T1215Z_YMDRJwtmC82bUwAo.json"))[:2] {
			records = append(records, string(r))
		}
	}
	docs := append(records[:len(records):len(records)],
		`{"Records":[`+records[0]+","+records[1]+`]}`,
		"[ "+records[1]+" ,\n"+records[0]+" ]",
		`{"a":[1,-2.5e+3,true,false,null,"\u00e9\n"],"Records":[{"eventSource":"x","eventName":"y"}]}`)
	replacements := []byte(`"\{}[],: 0-.eEtfnu/x` + "\x00\x1f\t\n\x80")
	var m []byte
	for _, doc := range docs {
		d := []byte(doc)
		for i := 0; i <= len(d); i++ {
			checkIndex(t, d[:i])
			if i == len(d) {
				break
			}
			m = append(append(m[:0], d[:i]...), d[i+1:]...)
			checkIndex(t, m)
			for _, c := range replacements {
				m = append(m[:0], d...)
				m[i] = c
				checkIndex(t, m)
				m = append(append(append(m[:0], d[:i]...), c), d[i:]...)
				checkIndex(t, m)
			}
		}
	}
}

// FuzzIndex checks the indexer against the references on arbitrary input.
func FuzzIndex(f *testing.F) {
	for _, doc := range indexSeeds(f) {
		f.Add(doc)
	}
	f.Fuzz(func(t *testing.T, doc []byte) { checkIndex(t, doc) })
}

// indexCorpus is the mixed CloudTrail corpus of BenchmarkDecodeCloudTrailMixed.
func indexCorpus(b *testing.B) ([][]byte, int) {
	other := cloudTrailRecords(b, 1000, 1600)
	bedrock := bedrockCloudTrailRecords(b)
	var corpus [][]byte
	total := 0
	for i := 0; i < 2000; i++ {
		r := other[i%len(other)]
		if i%20 == 0 {
			r = bedrock[(i/20)%len(bedrock)]
		}
		corpus = append(corpus, r)
		total += len(r)
	}
	return corpus, total / len(corpus)
}

// BenchmarkIndexDocument is the first pass alone over single-record
// CloudTrail messages of many services, as the decoder runs it.
func BenchmarkIndexDocument(b *testing.B) {
	var s jsonIndexer
	benchIndex(b, func(doc []byte, records *[]recordIndex) bool {
		_, ok := s.indexDocument(doc, records)
		return ok
	})
}

// BenchmarkIndexDocumentOriginal is BenchmarkIndexDocument with the frozen
// original indexer, for a comparison within one binary.
func BenchmarkIndexDocumentOriginal(b *testing.B) {
	var s refIndexer
	benchIndex(b, func(doc []byte, records *[]recordIndex) bool {
		_, ok := s.indexDocument(doc, records)
		return ok
	})
}

// benchIndex runs index over the records of indexCorpus.
func benchIndex(b *testing.B, index func(doc []byte, records *[]recordIndex) bool) {
	corpus, size := indexCorpus(b)
	var records []recordIndex
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if !index(corpus[i%len(corpus)], &records) {
			b.Fatalf("record %d rejected", i%len(corpus))
		}
	}
}

// BenchmarkIndexLogFile is the first pass over whole CloudTrail log files.
func BenchmarkIndexLogFile(b *testing.B) {
	var corpus [][]byte
	total := 0
	for _, f := range sampleGlob(b, "invictus-ir-aws_dataset/CloudTrail/*.json") {
		corpus = append(corpus, sampleDocuments(b, f)[0])
		total += len(corpus[len(corpus)-1])
	}
	var s jsonIndexer
	var records []recordIndex
	b.SetBytes(int64(total / len(corpus)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, ok := s.indexDocument(corpus[i%len(corpus)], &records); !ok {
			b.Fatal(s.failure)
		}
	}
}

// The frozen original indexer: do not change it, it is the oracle.

// refIndexer is jsonIndexer as it was before it was tuned for speed (a
// recursive descent, one call per value), copied verbatim but for the names, less the
// functions it shares with jsonIndexer.
// It is the oracle of the differential tests, and the baseline of
// BenchmarkIndexDocumentOriginal.
type refIndexer struct {
	// The state is jsonIndexer's, and with it the methods that did not
	// change (fail, literal, digits, number): only what was tuned is
	// frozen here.
	jsonIndexer
}

// indexDocument validates doc and returns the index of its top-level value.
// When records is not nil, the records of the document's record list are
// indexed into it (it is reset first). On failure it returns false and
// problem describes why.
func (s *refIndexer) indexDocument(doc []byte, records *[]recordIndex) (recordIndex, bool) {
	*s = refIndexer{jsonIndexer{b: doc, records: records}}
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

// ws returns the offset of the first non-whitespace byte at or after i.
func (s *refIndexer) ws(i int) int {
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
func (s *refIndexer) value(i int, rec *recordIndex, list bool) int {
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

// str scans a string whose opening quote is at i-1. It returns the offset
// after the closing quote and whether the string holds escape sequences.
// Eight bytes at a time it looks for a quote, a backslash or a control
// character (classic "has zero byte" / "has less than" bit tricks; the
// lowest flagged byte is always a true match). Flipping bit 1 of every byte
// maps the quote (0x22) to 0x20 and the control characters onto themselves,
// so one "less than 0x21" test finds both.
func (s *refIndexer) str(i int) (int, bool) {
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

// enter notes one more level of nesting, failing past maxNesting.
func (s *refIndexer) enter(i int) bool {
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
func (s *refIndexer) object(i int, rec *recordIndex, top bool) int {
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
func (s *refIndexer) indexedValue(i int, slot *valueSpan, list bool) int {
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

// array scans an array whose '[' is at i-1.
func (s *refIndexer) array(i int) int {
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
func (s *refIndexer) recordList(i int) int {
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
