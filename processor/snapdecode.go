package processor

import (
	"bytes"
	"encoding/json"
	"math"
	"time"
	"unicode/utf8"

	"github.com/valyala/fastjson"

	"github.com/bedrockwatch/bedrockwatch/schemas"
)

// decodeSnap decodes raw, a snap as state holds it, into sn (a zero snap),
// giving what json.Unmarshal gives. Evidence lists read every snap of a
// ring back when an outlier or threshold alert is built, and encoding/json
// spent about 1 µs on each by reflection; the form appendJSON writes is
// read here with fastjson instead, at a fraction of that. Anything else (a
// key appendJSON does not write, a null, a number of another form or out of
// range, a string that is not valid UTF-8 or escapes a surrogate, the
// evidence fields map) is left to json.Unmarshal, so the two never differ
// (FuzzDecodeSnap).
func decodeSnap(p *fastjson.Parser, raw []byte, sn *snap) error {
	t, ok := snapTime(raw)
	return decodeSnapAt(p, raw, t, ok, sn)
}

// decodeSnapAt is decodeSnap given snapTime(raw), for a caller that has
// read it already.
func decodeSnapAt(p *fastjson.Parser, raw []byte, t time.Time, timeOK bool, sn *snap) error {
	if timeOK && fastSnap(p, raw, t, sn) {
		return nil
	}
	*sn = snap{}
	return json.Unmarshal(raw, sn)
}

// snapTimePrefix begins every snap appendJSON writes: its time comes first.
const snapTimePrefix = `{"t":"`

// snapTime returns the event time of raw, a snap as appendJSON writes it,
// without decoding the rest, or false when raw is not of that form.
func snapTime(raw []byte) (time.Time, bool) {
	if !bytes.HasPrefix(raw, []byte(snapTimePrefix)) {
		return time.Time{}, false
	}
	rest := raw[len(snapTimePrefix):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 || bytes.IndexByte(rest[:end], '\\') >= 0 {
		return time.Time{}, false
	}
	var t time.Time
	if t.UnmarshalText(rest[:end]) != nil {
		return time.Time{}, false
	}
	return t, true
}

// fastSnap decodes raw into sn with fastjson, given t, its time as
// snapTime read it, or reports false. The time is read from the raw bytes,
// as time.Time.UnmarshalJSON reads it (without unescaping): an escaped time
// is left to json.Unmarshal, which refuses it.
func fastSnap(p *fastjson.Parser, raw []byte, t time.Time, sn *snap) bool {
	if !plainEscapes(raw) {
		return false
	}
	// fastjson's parser is lenient (leading zeros, control characters in
	// strings); its validator holds to the JSON grammar as encoding/json
	// does.
	if fastjson.ValidateBytes(raw) != nil {
		return false
	}
	v, err := p.ParseBytes(raw)
	if err != nil {
		return false
	}
	sn.T = t
	times := 0
	return fastObject(v, func(k []byte, v *fastjson.Value) (ok bool) {
		switch string(k) {
		case "t":
			times++
			ok = times == 1 // read above; a second one would win in json.Unmarshal
		case "o":
			ok = fastOrigin(v, &sn.O)
		case "id":
			ok = fastString(v, &sn.ID)
		case "ds":
			ok = fastString(v, &sn.DS)
		case "a":
			ok = fastString(v, &sn.Act)
		case "out":
			ok = fastString(v, &sn.Out)
		case "err":
			ok = fastString(v, &sn.Err)
		case "acct":
			ok = fastString(v, &sn.Acct)
		case "arn":
			ok = fastString(v, &sn.ARN)
		case "pt":
			ok = fastString(v, &sn.PType)
		case "key":
			ok = fastString(v, &sn.Key)
		case "user":
			ok = fastString(v, &sn.User)
		case "host":
			ok = fastString(v, &sn.Host)
		case "ip":
			ok = fastString(v, &sn.IP)
		case "ua":
			ok = fastString(v, &sn.UA)
		case "model":
			ok = fastString(v, &sn.Model)
		case "ptok":
			ok = fastInt64Ptr(v, &sn.PTok)
		case "ctok":
			ok = fastInt64Ptr(v, &sn.CTok)
		case "prompt":
			ok = fastPrompt(v, &sn.Prompt)
		}
		return ok
	})
}

// plainEscapes reports whether raw escapes no UTF-16 surrogate: fastjson
// and encoding/json decode a lone one differently.
func plainEscapes(raw []byte) bool {
	for i := bytes.IndexByte(raw, '\\'); i >= 0; {
		if i+2 < len(raw) && raw[i+1] == 'u' && (raw[i+2] == 'd' || raw[i+2] == 'D') {
			if i+3 < len(raw) && bytes.IndexByte([]byte("89abAB"), raw[i+3]) >= 0 {
				return false
			}
		}
		i += 2 // the escaped byte cannot begin another escape
		if i >= len(raw) {
			break
		}
		j := bytes.IndexByte(raw[i:], '\\')
		if j < 0 {
			break
		}
		i += j
	}
	return true
}

func fastString(v *fastjson.Value, dst *string) bool {
	b, err := v.StringBytes()
	if err != nil || !utf8.Valid(b) {
		return false
	}
	*dst = string(b)
	return true
}

// fastInt reads an integer written as encoding/json writes one (no
// fraction or exponent) within [lo, hi].
func fastInt(v *fastjson.Value, lo, hi int64) (int64, bool) {
	if v.Type() != fastjson.TypeNumber {
		return 0, false
	}
	n, err := v.Int64()
	if err != nil || n < lo || n > hi {
		return 0, false
	}
	return n, true
}

func fastInt64Ptr(v *fastjson.Value, dst **int64) bool {
	n, ok := fastInt(v, math.MinInt64, math.MaxInt64)
	if ok {
		*dst = &n
	}
	return ok
}

// fastIntTo reads an int into *dst.
func fastIntTo(v *fastjson.Value, dst *int) bool {
	n, ok := fastInt(v, math.MinInt, math.MaxInt)
	*dst = int(n)
	return ok
}

func fastOrigin(v *fastjson.Value, o *schemas.Origin) bool {
	return fastObject(v, func(k []byte, v *fastjson.Value) (ok bool) {
		var n int64
		switch string(k) {
		case "topic":
			ok = fastString(v, &o.Topic)
		case "file":
			ok = fastString(v, &o.File)
		case "partition":
			n, ok = fastInt(v, math.MinInt32, math.MaxInt32)
			o.Partition = int32(n)
		case "offset":
			o.Offset, ok = fastInt(v, math.MinInt64, math.MaxInt64)
		case "line":
			ok = fastIntTo(v, &o.Line)
		case "index":
			ok = fastIntTo(v, &o.Index)
		}
		return ok
	})
}

func fastPrompt(v *fastjson.Value, dst **schemas.PromptExcerpt) bool {
	p := &schemas.PromptExcerpt{}
	ok := fastObject(v, func(k []byte, v *fastjson.Value) (ok bool) {
		switch string(k) {
		case "text":
			ok = fastString(v, &p.Text)
		case "length":
			ok = fastIntTo(v, &p.Length)
		case "truncated":
			var err error
			p.Truncated, err = v.Bool()
			ok = err == nil
		case "masked":
			ok = fastIntTo(v, &p.Masked)
		}
		return ok
	})
	if ok {
		*dst = p
	}
	return ok
}

// fastObject calls member with each member of the object v, in order, until
// one reports false (a key it does not know, a value it cannot read), and
// reports whether v is an object whose every member was read.
func fastObject(v *fastjson.Value, member func(k []byte, v *fastjson.Value) bool) bool {
	obj, err := v.Object()
	if err != nil {
		return false
	}
	ok := true
	obj.Visit(func(k []byte, v *fastjson.Value) {
		if ok {
			ok = member(k, v)
		}
	})
	return ok
}
