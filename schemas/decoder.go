package schemas

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fastjson"
)

// Decoder turns input messages into Records: it recognises the shape of each
// message (SPEC §2), finds the records inside it and normalises each into an
// Event (SPEC §3).
//
// Work is done in two passes over a message. The first, a hand-written
// scanner, validates the JSON and indexes a few top-level keys of every
// record without allocating; a bare CloudTrail record whose eventSource is
// not in Config.CloudTrailProviders — the bulk of a CloudTrail feed — is
// filtered on that pass alone. Only the other records are parsed (with
// fastjson) and normalised; but an invocation log, recognised from the keys
// the first pass indexed, is read straight from its bytes by a fast path
// (invocation_fast.go) that gives the same Event and leaves the shapes it is
// not sure of to the parse.
//
// A Decoder is not safe for concurrent use: give each goroutine its own. It
// reuses its parsers and buffers from one message to the next, so a warm
// Decoder allocates only for the Events it returns.
type Decoder struct {
	cfg Config

	index   jsonIndexer
	records []recordIndex // records found in the current message, by position

	// Three parsers, because values of one stay alive while the next parses:
	// msg parses a record of the message itself, embedded a record carried as
	// a JSON string inside it (CloudWatch Logs message, LookupEvents
	// CloudTrailEvent), and body a model request or response carried as a
	// JSON string inside an invocation log.
	msg, embedded, body fastjson.Parser

	gzip    *gzip.Reader
	gzipSrc bytes.Reader
	gzipBuf []byte

	// Text extracted from invocation logs, reused between records.
	prompt, system, completion boundedText

	arena  textArena // the short strings of the Event being built
	numBuf []byte    // a number rendered as text (textBytes)

	inv invocationScan // the fast path of invocation logs (decodeInvocationBytes)
	// slowInvocations turns the fast path off, for tests that compare the
	// two paths.
	slowInvocations bool
	// firstPassAlways turns decodeInvocationDocument off (the fast path
	// stays on), for tests that compare it with the first pass's way.
	firstPassAlways bool
	// invocationStream: the last document was an invocation log the fast
	// path read: the next is tried with decodeInvocationDocument first.
	invocationStream bool
}

// maxMessageBytes is the largest MaxRecordBytes a Decoder accepts: the
// first pass notes offsets as int32.
const maxMessageBytes = 1 << 30

// NewDecoder returns a Decoder for cfg, or the problems of cfg.
func NewDecoder(cfg Config) (*Decoder, error) {
	err := cfg.Validate()
	if cfg.MaxRecordBytes > maxMessageBytes {
		err = errors.Join(err, fmt.Errorf("max_record_bytes must be at most %d, got %d", maxMessageBytes, cfg.MaxRecordBytes))
	}
	if err != nil {
		return nil, fmt.Errorf("schemas: decoder config: %w", err)
	}
	cfg.CloudTrailProviders = append([]string(nil), cfg.CloudTrailProviders...)
	return &Decoder{cfg: cfg}, nil
}

// maxRetainedRecords bounds the per-message record index the Decoder keeps
// between messages; a message with more records gets a fresh one.
const maxRetainedRecords = 1 << 14

// Decode decodes one message: a Kafka record value, or one top-level JSON
// document of a file, optionally gzip-compressed.
//
// It calls yield once per record found in the message, in order, and at least
// once: a message that is not valid JSON, or holds no known input, yields one
// StatusMalformed record. Decode never panics and never retains msg or
// anything yielded to it; every Event owns its memory, and Event.Origin is
// origin with Index set to the record's position in the message. A malformed
// record carries no Origin: callers that need the position count yields.
func (d *Decoder) Decode(msg []byte, origin Origin, yield func(Record)) {
	if len(msg) > d.cfg.MaxRecordBytes {
		yield(malformed(SourceUnknown, ReasonOversized,
			fmt.Sprintf("message of %d bytes exceeds max_record_bytes %d", len(msg), d.cfg.MaxRecordBytes)))
		return
	}
	if isGzip(msg) {
		plain, bad := d.gunzip(msg)
		if bad != nil {
			yield(Record{Status: StatusMalformed, Err: bad})
			return
		}
		msg = plain
	}
	d.decodeDocument(msg, origin, yield)
	if cap(d.records) > maxRetainedRecords {
		d.records = nil
	}
}

// isGzip reports whether b starts with the gzip magic number.
func isGzip(b []byte) bool { return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b }

// gunzip decompresses msg into the Decoder's buffer, stopping as soon as the
// output exceeds MaxRecordBytes.
func (d *Decoder) gunzip(msg []byte) ([]byte, *MalformedError) {
	d.gzipSrc.Reset(msg)
	defer d.gzipSrc.Reset(nil)
	var err error
	if d.gzip == nil {
		d.gzip, err = gzip.NewReader(&d.gzipSrc)
	} else {
		err = d.gzip.Reset(&d.gzipSrc)
	}
	if err != nil {
		return nil, &MalformedError{Reason: ReasonBadGzip, Detail: "gzip header: " + err.Error()}
	}
	limit := d.cfg.MaxRecordBytes
	buf := d.gzipBuf[:0]
	for {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(max(2*cap(buf), 64<<10), limit+1))
			copy(grown, buf)
			buf = grown
		}
		n, err := d.gzip.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if len(buf) > limit {
			d.gzipBuf = buf[:0]
			return nil, &MalformedError{Reason: ReasonOversized,
				Detail: fmt.Sprintf("decompressed message exceeds max_record_bytes %d", limit)}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			d.gzipBuf = buf[:0]
			return nil, &MalformedError{Reason: ReasonBadGzip, Detail: "gzip stream: " + err.Error()}
		}
	}
	d.gzipBuf = buf
	return buf, nil
}

// recordCtx is what the envelope around a record tells its decoder.
type recordCtx struct {
	origin Origin // with Index set to the record's position in the message
	// fallbackTime is the envelope's time (EventBridge time, CloudWatch Logs
	// timestamp), used when the record has no time of its own.
	fallbackTime time.Time
	// list names the list the record sits in ("Records", "logEvents",
	// "array"), for the details of malformed records; empty for a message
	// that is one record.
	list string
	// embedded: the record was carried as a JSON string and is parsed with
	// Decoder.embedded, so it may not be an envelope that embeds another.
	embedded bool
}

// malformed returns a malformed Record whose detail names the record's
// position when it sits in a list.
func (rc *recordCtx) malformed(src Source, reason, detail string) Record {
	if rc.list != "" {
		detail = fmt.Sprintf("%s[%d]: %s", rc.list, rc.origin.Index, detail)
	}
	return malformed(src, reason, detail)
}

// malformed returns a malformed Record.
func malformed(src Source, reason, detail string) Record {
	return Record{Status: StatusMalformed, Source: src, Err: &MalformedError{Reason: reason, Detail: detail}}
}

var utf8BOM = []byte{0xef, 0xbb, 0xbf}

// decodeDocument decodes one (decompressed) JSON document: a record, a JSON
// array of records, a CloudTrail log file or a CloudWatch Logs message.
func (d *Decoder) decodeDocument(doc []byte, origin Origin, yield func(Record)) {
	doc = bytes.TrimPrefix(doc, utf8BOM)
	if !d.slowInvocations && !d.firstPassAlways && !firstKeyElsewhere(doc) && (d.invocationStream || looksLikeInvocation(doc)) {
		// Invocation logs come in streams of them: after one is read this
		// way, the next is tried this way first.
		if d.invocationStream = d.decodeInvocationDocument(doc, &recordCtx{origin: origin}, yield); d.invocationStream {
			return
		}
	}
	top, ok := d.index.indexDocument(doc, &d.records)
	if !ok {
		yield(malformed(SourceUnknown, ReasonInvalidJSON, d.index.problem()))
		return
	}
	switch {
	case top.kind == '[':
		d.decodeRecordList(doc, origin, "array", SourceUnknown, yield)
	case top.kind != '{':
		yield(malformed(SourceUnknown, ReasonUnknownShape, "top-level JSON "+kindName(top.kind)))
	case top.records.kind != 0:
		if top.records.kind != '[' {
			yield(malformed(SourceCloudTrail, ReasonBadField, "Records is "+kindArticle(top.records.kind)))
			return
		}
		d.decodeRecordList(doc, origin, "Records", SourceCloudTrail, yield)
	case top.keys.hasAny(keysSubscription):
		d.decodeSubscription(top.bytes(doc), origin, yield)
	default:
		d.decodeRecordBytes(doc, &top, &d.msg, &recordCtx{origin: origin}, yield)
	}
}

// decodeRecordList decodes the records of a JSON array or of a CloudTrail
// log file, which the indexer has listed in d.records. An empty list yields
// one StatusSkipped record of source src.
func (d *Decoder) decodeRecordList(doc []byte, origin Origin, list string, src Source, yield func(Record)) {
	if len(d.records) == 0 {
		yield(Record{Status: StatusSkipped, Source: src})
		return
	}
	for i := range d.records {
		rc := recordCtx{origin: origin, list: list}
		rc.origin.Index = i
		d.decodeRecordBytes(doc, &d.records[i], &d.msg, &rc, yield)
	}
}

// decodeRecordBytes decodes the record idx of the scanned document doc: a
// CloudTrail record of an unwanted provider is filtered from the index alone;
// an invocation log is read from its bytes when the fast path takes it;
// anything else is parsed with p and normalised.
func (d *Decoder) decodeRecordBytes(doc []byte, idx *recordIndex, p *fastjson.Parser, rc *recordCtx, yield func(Record)) {
	if d.filteredByIndex(doc, idx) {
		yield(Record{Status: StatusFiltered, Source: SourceCloudTrail})
		return
	}
	if idx.kind != '{' {
		yield(rc.malformed(SourceUnknown, ReasonUnknownShape, "record is JSON "+kindName(idx.kind)))
		return
	}
	if !d.slowInvocations && !idx.escapedKey && mayBeInvocation(idx.keys) &&
		d.decodeInvocationBytes(idx.bytes(doc), rc, yield) {
		d.invocationStream = true // a stream of invocation logs not marked near either end
		return
	}
	v, err := p.ParseBytes(idx.bytes(doc))
	if err != nil { // the indexer accepted it, so this should not happen
		yield(rc.malformed(SourceUnknown, ReasonInvalidJSON, "rejected by the JSON parser"))
		return
	}
	d.decodeRecord(v, doc, idx, rc, yield)
}

// decodeEmbedded decodes a record carried as a JSON string inside another
// (the message of a CloudWatch Logs event, the CloudTrailEvent of a
// LookupEvents row). doc is the unescaped string.
func (d *Decoder) decodeEmbedded(doc []byte, rc *recordCtx, yield func(Record)) {
	idx, ok := d.index.indexDocument(doc, nil)
	if !ok {
		yield(rc.malformed(SourceUnknown, ReasonInvalidJSON, "embedded record: "+d.index.problem()))
		return
	}
	rc.embedded = true
	d.decodeRecordBytes(doc, &idx, &d.embedded, rc, yield)
}

// decodeSubscription decodes a CloudWatch Logs subscription message (an
// object with logEvents, or with messageType DATA_MESSAGE or
// CONTROL_MESSAGE). A CONTROL_MESSAGE yields one StatusSkipped record; a
// DATA_MESSAGE yields one record per log event, whose message is a record
// (CloudTrail, invocation log, …) as a JSON string, and whose timestamp
// (epoch milliseconds) stands in for a record without a time. An empty
// DATA_MESSAGE yields one StatusSkipped record. Neither carries a source:
// CloudWatch Logs may carry any strand.
func (d *Decoder) decodeSubscription(doc []byte, origin Origin, yield func(Record)) {
	v, err := d.msg.ParseBytes(doc)
	if err != nil { // the indexer accepted it, so this should not happen
		yield(malformed(SourceUnknown, ReasonInvalidJSON, "rejected by the JSON parser"))
		return
	}
	mt, events := v.Get("messageType"), v.Get("logEvents")
	messageType := string(mt.GetStringBytes())
	switch {
	case events == nil && messageType != "DATA_MESSAGE" && messageType != "CONTROL_MESSAGE":
		yield(malformed(SourceUnknown, ReasonUnknownShape, "object matches no known input"))
		return
	case mt != nil && !isString(mt):
		yield(malformed(SourceUnknown, ReasonBadField, "messageType is "+describe(mt)))
		return
	case messageType == "CONTROL_MESSAGE":
		yield(Record{Status: StatusSkipped})
		return
	case events == nil || events.Type() != fastjson.TypeArray:
		yield(malformed(SourceUnknown, ReasonBadField, "logEvents is "+describe(events)))
		return
	}
	list := events.GetArray()
	if len(list) == 0 {
		yield(Record{Status: StatusSkipped})
		return
	}
	for i, le := range list {
		rc := recordCtx{origin: origin, list: "logEvents"}
		rc.origin.Index = i
		message := le.Get("message")
		if !isString(message) {
			yield(rc.malformed(SourceUnknown, ReasonBadField, "message is "+describe(message)))
			continue
		}
		if ts := le.Get("timestamp"); ts != nil && ts.Type() == fastjson.TypeNumber {
			if ms, err := ts.Float64(); err == nil {
				rc.fallbackTime, _ = epochTime(ms)
			}
		}
		d.decodeEmbedded(message.GetStringBytes(), &rc, yield)
	}
}

// decodeRecord recognises one parsed record (an object, v, the record idx of
// the scanned document doc) and hands it to the decoder of its kind.
func (d *Decoder) decodeRecord(v *fastjson.Value, doc []byte, idx *recordIndex, rc *recordCtx, yield func(Record)) {
	raw := idx.bytes(doc)
	keys := keysOfRecord(idx, v)
	switch {
	case keys.hasAny(keyCloudTrailEvent):
		if rc.embedded {
			yield(rc.malformed(SourceCloudTrail, ReasonUnknownShape, "LookupEvents row nested in another envelope"))
			return
		}
		d.decodeLookupRow(v, rc, yield)
	case keys.hasAny(keyDetailType):
		if idx.detail.kind != '{' {
			yield(rc.malformed(SourceCloudTrail, ReasonBadField, "detail is "+kindArticle(idx.detail.kind)))
			return
		}
		d.decodeEventBridge(v, idx.detail.bytes(doc), rc, yield)
	case keys.hasAny(keyRecords | keyLogEvents):
		yield(rc.malformed(SourceUnknown, ReasonUnknownShape, "multi-record envelope nested in another"))
	case isCloudTrailRecord(keys):
		d.decodeCloudTrail(v, raw, rc, yield)
	case isCloudTrailDigest(keys):
		yield(Record{Status: StatusSkipped, Source: SourceCloudTrail})
	case mayBeInvocation(keys) && isInvocationLog(v):
		d.decodeInvocation(v, raw, rc, yield)
	default:
		if shape := endpointShapeOf(v); shape != notEndpoint {
			d.decodeEndpoint(shape, v, raw, rc, yield)
			return
		}
		yield(rc.malformed(SourceUnknown, ReasonUnknownShape, "object matches no known input"))
	}
}

// newEvent returns an Event with the fields every record carries: dataset,
// origin, a private copy of raw (unless Config.DropRaw), and the time when
// known. The caller sets its id with setID.
func (d *Decoder) newEvent(dataset string, raw []byte, rc *recordCtx, t time.Time) *Event {
	if t.IsZero() {
		t = rc.fallbackTime
	}
	e := &Event{
		Timestamp: t.UTC(),
		Dataset:   dataset,
		Origin:    rc.origin,
	}
	if !d.cfg.DropRaw {
		e.Raw = bytes.Clone(raw)
	}
	return e
}

// setID queues id as e's event id in d's arena, or, when the record has
// none, sets a hash of raw, the record's bytes (contentID): from raw, not
// from e.Raw, which Config.DropRaw leaves nil.
func (d *Decoder) setID(e *Event, id, raw []byte) {
	if len(id) > 0 {
		d.arena.set(&e.ID, id)
	} else {
		e.ID = contentID(raw)
	}
}

// contentID is the event id of a record that has none: "h:" and the first 16
// hex digits of the SHA-256 of its raw bytes.
func contentID(raw []byte) string {
	sum := sha256.Sum256(raw)
	var buf [2 + 16]byte
	buf[0], buf[1] = 'h', ':'
	hex.Encode(buf[2:], sum[:8])
	return string(buf[:])
}

// ---- reading fastjson values ----

// stringAt returns a copy of the string at path under v, or "" when the path
// is missing or not a string.
func stringAt(v *fastjson.Value, path ...string) string {
	return string(v.GetStringBytes(path...))
}

// textAt is stringAt that also accepts a number or a bool, rendered as
// written: for identifiers some producers emit as numbers (account ids,
// record ids) and for odd values that must be kept as given.
func textAt(v *fastjson.Value, path ...string) string {
	return textOf(v.Get(path...))
}

// textOf renders a string, number or bool as written; anything else as "".
func textOf(v *fastjson.Value) string {
	if v == nil {
		return ""
	}
	switch v.Type() {
	case fastjson.TypeString:
		return string(v.GetStringBytes())
	case fastjson.TypeNumber:
		return string(v.MarshalTo(nil))
	case fastjson.TypeTrue:
		return "true"
	case fastjson.TypeFalse:
		return "false"
	}
	return ""
}

// textBytes is textOf without the copy: a string's bytes, a number or bool
// as written, else nil. A number is rendered into d.numBuf, valid until the
// next call.
func (d *Decoder) textBytes(x *fastjson.Value) []byte {
	if x == nil {
		return nil
	}
	switch x.Type() {
	case fastjson.TypeString:
		return x.GetStringBytes()
	case fastjson.TypeNumber:
		d.numBuf = x.MarshalTo(d.numBuf[:0])
		return d.numBuf
	case fastjson.TypeTrue:
		return trueBytes
	case fastjson.TypeFalse:
		return falseBytes
	}
	return nil
}

var trueBytes, falseBytes = []byte("true"), []byte("false")

// firstStringBytesAt returns the first non-empty string found at the given
// top-level keys of v, or nil.
func firstStringBytesAt(v *fastjson.Value, keys ...string) []byte {
	for _, k := range keys {
		if s := v.GetStringBytes(k); len(s) > 0 {
			return s
		}
	}
	return nil
}

// isString reports whether v is a JSON string.
func isString(v *fastjson.Value) bool { return v != nil && v.Type() == fastjson.TypeString }

// describe names the type of v for a MalformedError detail: "missing",
// "a number", "an object"…
func describe(v *fastjson.Value) string {
	if v == nil {
		return "missing"
	}
	switch v.Type() {
	case fastjson.TypeObject:
		return "an object"
	case fastjson.TypeArray:
		return "an array"
	case fastjson.TypeString:
		return "a string"
	case fastjson.TypeNumber:
		return "a number"
	case fastjson.TypeNull:
		return "null"
	}
	return "a bool"
}

// integerAt reads a count: a JSON number, or a string holding one.
func integerAt(v *fastjson.Value, path ...string) (int64, bool) {
	return integerOf(v.Get(path...))
}

// integerOf is integerAt of the value x itself (nil: absent).
func integerOf(x *fastjson.Value) (int64, bool) {
	if x == nil {
		return 0, false
	}
	switch x.Type() {
	case fastjson.TypeNumber:
		f, err := x.Float64()
		if err != nil {
			return 0, false
		}
		return countOf(f)
	case fastjson.TypeString:
		return countOfText(x.GetStringBytes())
	}
	return 0, false
}

// countOfText reads a count written in a string: a decimal number, spaces
// around it allowed.
func countOfText(b []byte) (int64, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
	if err != nil {
		return 0, false
	}
	return countOf(f)
}

// countOf is the count f, truncated; NaN and magnitudes above 1e15 are no
// counts.
func countOf(f float64) (int64, bool) {
	if math.IsNaN(f) || f < -1e15 || f > 1e15 {
		return 0, false
	}
	return int64(f), true
}

// ---- time ----

// timeLayouts are the textual timestamps seen in the inputs: RFC 3339
// (CloudTrail, invocation logs, ECS), with a space instead of the T and
// optionally no zone (Panther, Sysmon UtcTime, CrowdStrike, LookupEvents),
// and osquery's calendarTime. A layout without a zone is read as UTC.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"Mon Jan _2 15:04:05 2006 MST",
}

// parseTimeText parses a textual timestamp in one of timeLayouts, or a
// decimal epoch (see epochTime).
func parseTimeText(b []byte) (time.Time, bool) {
	if t, ok := parseUTCStamp(b); ok {
		return t, true
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return time.Time{}, false
	}
	if c := s[0]; c >= '0' && c <= '9' && !strings.ContainsAny(s, "-:") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return time.Time{}, false
		}
		return epochTime(f)
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// parseUTCStamp parses the timestamp every CloudTrail record and invocation
// log carries, 2006-01-02T15:04:05Z with an optional fraction of up to nine
// digits, without the allocation of time.Parse. It accepts nothing that
// time.Parse(time.RFC3339Nano) rejects and gives the same time; anything
// else (another zone, a date out of range…) is left to parseTimeText's
// general path.
func parseUTCStamp(b []byte) (time.Time, bool) {
	const short = len("2006-01-02T15:04:05Z")
	if len(b) < short || len(b) > short+10 || b[len(b)-1] != 'Z' ||
		b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	num := func(lo, hi int) int {
		n := 0
		for _, c := range b[lo:hi] {
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	year, month, day := num(0, 4), num(5, 7), num(8, 10)
	hour, minute, sec := num(11, 13), num(14, 16), num(17, 19)
	nsec := 0
	if frac := b[19 : len(b)-1]; len(frac) > 0 {
		if len(frac) < 2 || frac[0] != '.' {
			return time.Time{}, false
		}
		if nsec = num(20, len(b)-1); nsec < 0 {
			return time.Time{}, false
		}
		for range 9 - (len(frac) - 1) {
			nsec *= 10
		}
	}
	if year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 ||
		minute < 0 || minute > 59 || sec < 0 || sec > 59 ||
		day > daysIn(time.Month(month), year) {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC).UTC(), true
}

// daysIn returns the number of days of month in year.
func daysIn(month time.Month, year int) int {
	return time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// epochTime reads a Unix time given in seconds or in milliseconds: values of
// 1e11 and more (year 5138 in seconds) are milliseconds.
func epochTime(f float64) (time.Time, bool) {
	if math.IsNaN(f) || f <= 0 || f >= 1e15 {
		return time.Time{}, false
	}
	if f < 1e11 {
		f *= 1000
	}
	return time.UnixMilli(int64(f)).UTC(), true
}

// timeAt reads a timestamp at path under v: a string in one of timeLayouts,
// or a number of seconds or milliseconds since the epoch.
func timeAt(v *fastjson.Value, path ...string) (time.Time, bool) {
	return timeOf(v.Get(path...))
}

// timeOf is timeAt of the value x itself (nil: absent).
func timeOf(x *fastjson.Value) (time.Time, bool) {
	if x == nil {
		return time.Time{}, false
	}
	switch x.Type() {
	case fastjson.TypeString:
		return parseTimeText(x.GetStringBytes())
	case fastjson.TypeNumber:
		f, err := x.Float64()
		if err != nil {
			return time.Time{}, false
		}
		return epochTime(f)
	}
	return time.Time{}, false
}

// firstTimeAt returns the first timestamp found at the given paths.
func firstTimeAt(v *fastjson.Value, paths ...[]string) time.Time {
	for _, p := range paths {
		if t, ok := timeAt(v, p...); ok {
			return t
		}
	}
	return time.Time{}
}

// ---- names ----

// lastARNSegment returns the last path segment of an ARN's resource
// (arn:aws:iam::1:user/dev/alice → alice; arn:aws:iam::1:root → root).
func lastARNSegment(arn []byte) []byte {
	for _, sep := range [...]byte{'/', ':'} {
		for i := len(arn) - 1; i >= 0; i-- {
			if arn[i] == sep {
				return arn[i+1:]
			}
		}
	}
	return arn
}

// baseName returns the last element of a Unix or Windows path.
func baseName(path string) string {
	if i := strings.LastIndexAny(path, `/\`); i >= 0 {
		return path[i+1:]
	}
	return path
}
