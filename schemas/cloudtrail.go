package schemas

import (
	"strings"

	"github.com/valyala/fastjson"
)

// CloudTrail: bare records, records in EventBridge envelopes and LookupEvents
// rows, digest files, and the provider filter. Log files ({"Records":[…]}),
// arrays and CloudWatch Logs messages are unwrapped in decoder.go.

// filteredByIndex reports whether the record idx of the scanned document doc
// is a bare CloudTrail record (an object with string eventSource and
// eventName and no envelope key) whose eventSource is not one of
// Config.CloudTrailProviders. It decides from the first pass alone, so the
// common case — a record of another AWS service — is rejected without
// parsing. A record it cannot judge (escaped names, an envelope) is left to
// decodeCloudTrail, which applies the same rule after parsing.
func (d *Decoder) filteredByIndex(doc []byte, idx *recordIndex) bool {
	if len(d.cfg.CloudTrailProviders) == 0 || idx.kind != '{' || idx.keys.hasAny(keysEnvelope) || idx.escapedKey {
		return false
	}
	src, name := idx.eventSource, idx.eventName
	if src.kind != '"' || src.escaped || name.kind != '"' {
		return false
	}
	return !d.wantsProvider(src.bytes(doc))
}

// wantsProvider reports whether records of eventSource src become events.
func (d *Decoder) wantsProvider(src []byte) bool {
	if len(d.cfg.CloudTrailProviders) == 0 {
		return true
	}
	for _, p := range d.cfg.CloudTrailProviders {
		if string(src) == p {
			return true
		}
	}
	return false
}

// isCloudTrailRecord reports whether an object with these keys is a
// CloudTrail record: it has at least two of eventVersion, eventSource and
// eventName (re-shipped records sometimes lack eventVersion).
func isCloudTrailRecord(keys recordKeys) bool {
	n := 0
	for _, k := range [...]recordKeys{keyEventVersion, keyEventSource, keyEventName} {
		if keys.has(k) {
			n++
		}
	}
	return n >= 2
}

// isCloudTrailDigest reports whether an object with these keys is a
// CloudTrail digest file, which lists log files and their hashes and is not
// an event.
func isCloudTrailDigest(keys recordKeys) bool {
	return keys.has(keyDigestStartTime|keyDigestEndTime) || keys.has(keyDigestS3Object|keyLogFiles)
}

// decodeCloudTrail normalises one CloudTrail record (SPEC §3). raw is the
// record's own JSON. A record whose eventSource or eventName is not a string
// is malformed (ReasonBadField); one of an unwanted provider is filtered.
// Everything else is kept as given: odd source IPs, error codes, a missing
// userIdentity type or event time never reject a record.
//
// event.outcome is "failure" when errorCode is set (whatever its value, even
// "200") and, as Elastic's pipeline does, for a ConsoleLogin whose
// responseElements.ConsoleLogin is "Failure" (failed sign-ins carry only an
// errorMessage); otherwise "success".
func (d *Decoder) decodeCloudTrail(v *fastjson.Value, raw []byte, rc *recordCtx, yield func(Record)) {
	src, name := v.Get("eventSource"), v.Get("eventName")
	if !isString(src) {
		yield(rc.malformed(SourceCloudTrail, ReasonBadField, "eventSource is "+describe(src)))
		return
	}
	if !isString(name) {
		yield(rc.malformed(SourceCloudTrail, ReasonBadField, "eventName is "+describe(name)))
		return
	}
	if !d.wantsProvider(src.GetStringBytes()) {
		yield(Record{Status: StatusFiltered, Source: SourceCloudTrail})
		return
	}

	t := firstTimeAt(v, []string{"eventTime"}, []string{"@timestamp"})
	e := d.newEvent(DatasetCloudTrail, raw, rc, t)
	a := &d.arena
	d.setID(e, v.GetStringBytes("eventID"), raw)
	a.set(&e.Provider, src.GetStringBytes())
	a.set(&e.Action, name.GetStringBytes())
	errorCode := d.textBytes(v.Get("errorCode"))
	a.set(&e.ErrorCode, errorCode)
	e.Outcome = "success"
	if len(errorCode) > 0 || string(v.GetStringBytes("responseElements", "ConsoleLogin")) == "Failure" {
		e.Outcome = "failure"
	}
	a.set(&e.ErrorMessage, d.textBytes(v.Get("errorMessage")))
	a.set(&e.EventCategory, v.GetStringBytes("eventCategory"))
	a.set(&e.Region, v.GetStringBytes("awsRegion"))
	a.set(&e.SourceIP, d.textBytes(v.Get("sourceIPAddress")))
	a.set(&e.UserAgent, v.GetStringBytes("userAgent"))

	ui := v.Get("userIdentity")
	a.set(&e.IdentityType, ui.GetStringBytes("type"))
	arn := ui.GetStringBytes("arn")
	a.set(&e.IdentityARN, arn)
	a.set(&e.UserID, arn)
	a.set(&e.AccessKeyID, ui.GetStringBytes("accessKeyId"))
	issuer := ui.Get("sessionContext", "sessionIssuer")
	a.set(&e.SessionIssuerARN, issuer.GetStringBytes("arn"))
	userName := ui.GetStringBytes("userName")
	if len(userName) == 0 {
		userName = issuer.GetStringBytes("userName")
	}
	if len(userName) == 0 {
		userName = lastARNSegment(arn)
	}
	a.set(&e.UserName, userName)
	if account := d.textBytes(v.Get("recipientAccountId")); len(account) > 0 {
		a.set(&e.AccountID, account)
	} else {
		a.set(&e.AccountID, d.textBytes(ui.Get("accountId")))
	}

	if rp := v.Get("requestParameters"); rp != nil && rp.Type() == fastjson.TypeObject {
		e.RequestParameters, _ = ToAny(rp).(map[string]any)
		a.set(&e.ModelID, firstStringBytesAt(rp, "modelId", "modelIdentifier", "baseModelIdentifier"))
	}
	a.commit()
	if n, ok := integerAt(v, "additionalEventData", "inputTokens"); ok {
		e.PromptTokens, e.HasPromptTokens = n, true
	}
	if n, ok := integerAt(v, "additionalEventData", "outputTokens"); ok {
		e.CompletionTokens, e.HasCompletionTokens = n, true
	}
	yield(Record{Status: StatusEvent, Source: SourceCloudTrail, Event: e})
}

// decodeEventBridge decodes an EventBridge event (v) whose detail, detailRaw,
// should be a CloudTrail record: "AWS API Call via CloudTrail", "AWS Console
// Sign In via CloudTrail", "AWS Service Event via CloudTrail"… The event's
// time stands in for a missing eventTime. Other EventBridge events are of
// unknown shape.
func (d *Decoder) decodeEventBridge(v *fastjson.Value, detailRaw []byte, rc *recordCtx, yield func(Record)) {
	detailType := v.Get("detail-type")
	if !isString(detailType) {
		yield(rc.malformed(SourceCloudTrail, ReasonBadField, "detail-type is "+describe(detailType)))
		return
	}
	detail := v.Get("detail")
	if !isCloudTrailRecord(keysOf(detail)) {
		if strings.Contains(string(detailType.GetStringBytes()), "CloudTrail") {
			yield(rc.malformed(SourceCloudTrail, ReasonBadField, "detail is not a CloudTrail record"))
		} else {
			yield(rc.malformed(SourceUnknown, ReasonUnknownShape, "EventBridge event without a CloudTrail record"))
		}
		return
	}
	if t, ok := timeAt(v, "time"); ok {
		rc.fallbackTime = t
	}
	d.decodeCloudTrail(detail, detailRaw, rc, yield)
}

// decodeLookupRow decodes a CloudTrail Event history / LookupEvents row,
// whose CloudTrailEvent is the record as a JSON string. The row's EventTime
// stands in for a missing eventTime.
func (d *Decoder) decodeLookupRow(v *fastjson.Value, rc *recordCtx, yield func(Record)) {
	inner := v.Get("CloudTrailEvent")
	if !isString(inner) {
		yield(rc.malformed(SourceCloudTrail, ReasonBadField, "CloudTrailEvent is "+describe(inner)))
		return
	}
	if t, ok := timeAt(v, "EventTime"); ok {
		rc.fallbackTime = t
	}
	d.decodeEmbedded(inner.GetStringBytes(), rc, yield)
}
