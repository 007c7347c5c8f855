package schemas

import (
	"sort"
	"strings"
	"time"

	"github.com/valyala/fastjson"
)

// A Getter reads one field of an event. Getters are resolved once, when a rule
// is compiled, so that evaluation does no string matching on field names.
type Getter func(*Event) Value

// typed maps each normalised field name to its reader.
var typed = map[string]Getter{
	"@timestamp":          func(e *Event) Value { return timeValue(e.Timestamp) },
	"data_stream.dataset": func(e *Event) Value { return StrOrNull(e.Dataset) },
	"event.provider":      func(e *Event) Value { return StrOrNull(e.Provider) },
	"event.action":        func(e *Event) Value { return StrOrNull(e.Action) },
	"event.outcome":       func(e *Event) Value { return StrOrNull(e.Outcome) },
	"event.category":      func(e *Event) Value { return StrOrNull(e.Category) },
	"event.id":            func(e *Event) Value { return StrOrNull(e.ID) },

	"aws.cloudtrail.error_code":                                       func(e *Event) Value { return StrOrNull(e.ErrorCode) },
	"aws.cloudtrail.error_message":                                    func(e *Event) Value { return StrOrNull(e.ErrorMessage) },
	"aws.cloudtrail.user_identity.type":                               func(e *Event) Value { return StrOrNull(e.IdentityType) },
	"aws.cloudtrail.user_identity.arn":                                func(e *Event) Value { return StrOrNull(e.IdentityARN) },
	"aws.cloudtrail.user_identity.access_key_id":                      func(e *Event) Value { return StrOrNull(e.AccessKeyID) },
	"aws.cloudtrail.user_identity.session_context.session_issuer.arn": func(e *Event) Value { return StrOrNull(e.SessionIssuerARN) },
	"aws.cloudtrail.event_category":                                   func(e *Event) Value { return StrOrNull(e.EventCategory) },
	"aws.cloudtrail.request_parameters": func(e *Event) Value {
		if e.RequestParameters == nil {
			return Value{}
		}
		return Value{Kind: Object, Obj: e.RequestParameters}
	},

	"user.id":             func(e *Event) Value { return StrOrNull(e.UserID) },
	"user.name":           func(e *Event) Value { return StrOrNull(e.UserName) },
	"cloud.account.id":    func(e *Event) Value { return StrOrNull(e.AccountID) },
	"cloud.region":        func(e *Event) Value { return StrOrNull(e.Region) },
	"source.ip":           func(e *Event) Value { return StrOrNull(e.SourceIP) },
	"user_agent.original": func(e *Event) Value { return StrOrNull(e.UserAgent) },

	"gen_ai.request.model.id": func(e *Event) Value { return StrOrNull(e.ModelID) },
	"gen_ai.prompt":           func(e *Event) Value { return StrOrNull(e.Prompt) },
	"gen_ai.system_prompt":    func(e *Event) Value { return StrOrNull(e.SystemPrompt) },
	"gen_ai.completion":       func(e *Event) Value { return StrOrNull(e.Completion) },
	"gen_ai.usage.prompt_tokens": func(e *Event) Value {
		if !e.HasPromptTokens {
			return Value{}
		}
		return Num(float64(e.PromptTokens))
	},
	"gen_ai.usage.completion_tokens": func(e *Event) Value {
		if !e.HasCompletionTokens {
			return Value{}
		}
		return Num(float64(e.CompletionTokens))
	},
	"gen_ai.guardrail_id": func(e *Event) Value { return StrOrNull(e.GuardrailID) },
	"gen_ai.guardrail.intervened": func(e *Event) Value {
		if e.Dataset != DatasetInvocation {
			return Value{}
		}
		return BoolVal(e.GuardrailIntervened)
	},

	"process.command_line": func(e *Event) Value { return StrOrNull(e.CommandLine) },
	"process.name":         func(e *Event) Value { return StrOrNull(e.ProcessName) },
	"host.name":            func(e *Event) Value { return StrOrNull(e.HostName) },
}

// rawRoots maps a field prefix to the dataset whose raw record it reads.
// aws.cloudtrail.tls_details.tls_version reads tlsDetails.tlsVersion of a
// CloudTrail record; aws_bedrock.invocation.input.input_token_count reads
// input.inputTokenCount of an invocation log.
var rawRoots = []struct{ prefix, dataset string }{
	{"aws.cloudtrail.", DatasetCloudTrail},
	{"aws_bedrock.invocation.", DatasetInvocation},
}

// KnownFields lists the normalised field names, sorted.
func KnownFields() []string {
	names := make([]string, 0, len(typed))
	for k := range typed {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// IsKnownField reports whether name is one of the normalised fields.
func IsKnownField(name string) bool { _, ok := typed[name]; return ok }

// FieldGetter returns the reader of a field given by its dotted ECS path.
//
// Normalised fields (KnownFields) are read from the Event's typed slots. Any
// other path stays reachable (SPEC §3): under aws.cloudtrail.request_parameters
// it walks the request parameters; under aws.cloudtrail. or
// aws_bedrock.invocation. it walks the raw record of that dataset, a path
// segment matching a JSON key spelled the same or in snake_case
// (user_identity matches userIdentity); on endpoint events any other path walks
// the raw ECS or OCSF document. A path the event does not have reads as null,
// and so does a raw path of an Event without Raw (see Config.DropRaw).
func FieldGetter(path string) Getter {
	c := classifyPath(path)
	switch c.kind {
	case pathTyped:
		return c.typed
	case pathRequestParameters:
		segs := strings.Split(c.rest, ".")
		return func(e *Event) Value {
			if e.RequestParameters == nil {
				return Value{}
			}
			return FromAny(walkAny(e.RequestParameters, segs))
		}
	case pathDatasetRaw:
		segs := strings.Split(c.rest, ".")
		ds := c.dataset
		return func(e *Event) Value {
			if e.Dataset != ds {
				return Value{}
			}
			return rawLookup(e.Raw, segs)
		}
	}
	// pathEndpointRaw
	segs := strings.Split(path, ".")
	return func(e *Event) Value {
		if e.Dataset != DatasetEndpoint {
			return Value{}
		}
		if v := rawLookup(e.Raw, []string{path}); !v.IsNull() {
			return v // a flat document with dotted keys
		}
		return rawLookup(e.Raw, segs)
	}
}

// PathReadsRaw reports whether the Getter FieldGetter returns for path reads
// Event.Raw: true for every path that is neither a normalised field nor
// under aws.cloudtrail.request_parameters. A caller whose fields all answer
// false may decode with Config.DropRaw and read the same values.
func PathReadsRaw(path string) bool {
	k := classifyPath(path).kind
	return k == pathDatasetRaw || k == pathEndpointRaw
}

// pathKind is how FieldGetter reads a path.
type pathKind uint8

const (
	pathTyped             pathKind = iota // a typed slot of the Event
	pathRequestParameters                 // a walk of Event.RequestParameters
	pathDatasetRaw                        // the raw record of one dataset (rawRoots)
	pathEndpointRaw                       // the raw document of an endpoint event
)

// pathClass is the classification of a path that FieldGetter and
// PathReadsRaw share, so that the two cannot disagree.
type pathClass struct {
	kind    pathKind
	typed   Getter // pathTyped
	rest    string // pathRequestParameters, pathDatasetRaw: the path below the prefix
	dataset string // pathDatasetRaw
}

func classifyPath(path string) pathClass {
	if g, ok := typed[path]; ok {
		return pathClass{kind: pathTyped, typed: g}
	}
	if rest, ok := strings.CutPrefix(path, "aws.cloudtrail.request_parameters."); ok {
		return pathClass{kind: pathRequestParameters, rest: rest}
	}
	for _, r := range rawRoots {
		if rest, ok := strings.CutPrefix(path, r.prefix); ok {
			return pathClass{kind: pathDatasetRaw, rest: rest, dataset: r.dataset}
		}
	}
	return pathClass{kind: pathEndpointRaw}
}

// TimestampLayout renders @timestamp for rules: fixed width with
// milliseconds, as Elastic stores dates, so that timestamps compare as text.
const TimestampLayout = "2006-01-02T15:04:05.000Z07:00"

func timeValue(t time.Time) Value {
	if t.IsZero() {
		return Value{}
	}
	return Str(t.UTC().Format(TimestampLayout))
}

// keyMatches reports whether a JSON key answers to a path segment: spelled the
// same, or the same in snake_case (sessionIssuer ~ session_issuer).
func keyMatches(key, seg string) bool {
	if key == seg {
		return true
	}
	i := 0
	for j := 0; j < len(key); j++ {
		c := key[j]
		if c >= 'A' && c <= 'Z' {
			if j > 0 {
				if i >= len(seg) || seg[i] != '_' {
					return false
				}
				i++
			}
			c += 'a' - 'A'
		}
		if i >= len(seg) || seg[i] != c {
			return false
		}
		i++
	}
	return i == len(seg)
}

func walkAny(v any, segs []string) any {
	for _, s := range segs {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		next, found := m[s]
		if !found {
			// Several keys may answer to one segment (modelId and
			// model_id); the first in sorted order wins, every time.
			best := ""
			for k, x := range m {
				if keyMatches(k, s) && (!found || k < best) {
					next, found, best = x, true, k
				}
			}
		}
		if !found {
			return nil
		}
		v = next
	}
	return v
}

var rawParsers fastjson.ParserPool

// rawLookup walks a raw JSON record. It parses the record on every call: the
// typed fields serve the built-in rules, and this path serves the occasional
// custom rule that reads a field without a typed slot.
func rawLookup(raw []byte, segs []string) Value {
	if len(raw) == 0 {
		return Value{}
	}
	p := rawParsers.Get()
	defer rawParsers.Put(p)
	v, err := p.ParseBytes(raw)
	if err != nil {
		return Value{}
	}
	for _, s := range segs {
		o, err := v.Object()
		if err != nil {
			return Value{}
		}
		next := o.Get(s)
		if next == nil {
			o.Visit(func(k []byte, x *fastjson.Value) {
				if next == nil && keyMatches(string(k), s) {
					next = x
				}
			})
		}
		if next == nil {
			return Value{}
		}
		v = next
	}
	return fromFastJSON(v)
}

// fromFastJSON copies a fastjson value into a Value that owns its memory.
func fromFastJSON(v *fastjson.Value) Value {
	switch v.Type() {
	case fastjson.TypeString:
		return Str(string(v.GetStringBytes()))
	case fastjson.TypeNumber:
		return Num(v.GetFloat64())
	case fastjson.TypeTrue:
		return BoolVal(true)
	case fastjson.TypeFalse:
		return BoolVal(false)
	case fastjson.TypeArray:
		a := v.GetArray()
		l := make([]Value, len(a))
		for i, e := range a {
			l[i] = fromFastJSON(e)
		}
		return Value{Kind: List, List: l}
	case fastjson.TypeObject:
		return Value{Kind: Object, Obj: ToAny(v).(map[string]any)}
	}
	return Value{}
}

// ToAny copies a fastjson value into plain Go values (encoding/json
// conventions).
func ToAny(v *fastjson.Value) any {
	switch v.Type() {
	case fastjson.TypeString:
		return string(v.GetStringBytes())
	case fastjson.TypeNumber:
		return v.GetFloat64()
	case fastjson.TypeTrue:
		return true
	case fastjson.TypeFalse:
		return false
	case fastjson.TypeArray:
		a := v.GetArray()
		l := make([]any, len(a))
		for i, e := range a {
			l[i] = ToAny(e)
		}
		return l
	case fastjson.TypeObject:
		o := v.GetObject()
		m := make(map[string]any, o.Len())
		o.Visit(func(k []byte, x *fastjson.Value) { m[string(k)] = ToAny(x) })
		return m
	}
	return nil
}
