package schemas

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// EventFromFields builds an Event from normalised field names and values, as
// rule test cases write them: {"event.action": "InvokeModel", …}.
//
// Every field of KnownFields may be set; aws.cloudtrail.request_parameters
// takes an object, and aws.cloudtrail.request_parameters.X sets one
// parameter. On endpoint events any other field is kept in the raw document,
// so rules reach it by path. Any other unknown field is an error: the event
// would not carry it, and a test relying on it would pass for the wrong
// reason. A raw input record is the way to test such fields.
func EventFromFields(fields map[string]any) (*Event, error) {
	e := &Event{}
	var errs []string
	extra := map[string]any{}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := fields[k]
		if err := setField(e, k, v); err != nil {
			if err == errNoSlot {
				extra[k] = v
				continue
			}
			errs = append(errs, fmt.Sprintf("%s: %v", k, err))
		}
	}
	if len(extra) > 0 {
		if e.Dataset != DatasetEndpoint {
			names := make([]string, 0, len(extra))
			for k := range extra {
				names = append(names, k)
			}
			sort.Strings(names)
			errs = append(errs, fmt.Sprintf("%s: not a normalised field of %q events (give a raw input record under `record:` to test other fields)", strings.Join(names, ", "), e.Dataset))
		}
	}
	if e.Dataset == DatasetEndpoint {
		raw, err := json.Marshal(fields)
		if err != nil {
			errs = append(errs, err.Error())
		}
		e.Raw = raw
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("event: %s", strings.Join(errs, "; "))
	}
	if e.Outcome == "" && e.Dataset == DatasetCloudTrail {
		e.Outcome = "success"
		if e.ErrorCode != "" {
			e.Outcome = "failure"
		}
	}
	if e.Provider == "" && e.Dataset == DatasetInvocation {
		e.Provider = BedrockProvider
	}
	return e, nil
}

var errNoSlot = fmt.Errorf("no slot")

func setField(e *Event, k string, v any) error {
	str := func(dst *string) error {
		switch x := v.(type) {
		case string:
			*dst = x
		case int, int64, float64, bool:
			*dst = fmt.Sprint(x)
		case nil:
		default:
			return fmt.Errorf("want a string, got %T", v)
		}
		return nil
	}
	num := func(dst *int64, has *bool) error {
		switch x := v.(type) {
		case int:
			*dst = int64(x)
		case int64:
			*dst = x
		case float64:
			*dst = int64(x)
		default:
			return fmt.Errorf("want a number, got %T", v)
		}
		*has = true
		return nil
	}
	if rest, ok := strings.CutPrefix(k, "aws.cloudtrail.request_parameters."); ok {
		if e.RequestParameters == nil {
			e.RequestParameters = map[string]any{}
		}
		e.RequestParameters[rest] = normalizeYAML(v)
		return nil
	}
	switch k {
	case "@timestamp":
		s, ok := v.(string)
		if !ok {
			if t, isTime := v.(time.Time); isTime {
				e.Timestamp = t.UTC()
				return nil
			}
			return fmt.Errorf("want an RFC 3339 time, got %T", v)
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return err
		}
		e.Timestamp = t.UTC()
		return nil
	case "data_stream.dataset":
		return str(&e.Dataset)
	case "event.provider":
		return str(&e.Provider)
	case "event.action":
		return str(&e.Action)
	case "event.outcome":
		return str(&e.Outcome)
	case "event.category":
		return str(&e.Category)
	case "event.id":
		return str(&e.ID)
	case "aws.cloudtrail.error_code":
		return str(&e.ErrorCode)
	case "aws.cloudtrail.error_message":
		return str(&e.ErrorMessage)
	case "aws.cloudtrail.user_identity.type":
		return str(&e.IdentityType)
	case "aws.cloudtrail.user_identity.arn":
		return str(&e.IdentityARN)
	case "aws.cloudtrail.user_identity.access_key_id":
		return str(&e.AccessKeyID)
	case "aws.cloudtrail.user_identity.session_context.session_issuer.arn":
		return str(&e.SessionIssuerARN)
	case "aws.cloudtrail.event_category":
		return str(&e.EventCategory)
	case "aws.cloudtrail.request_parameters":
		m, ok := normalizeYAML(v).(map[string]any)
		if !ok {
			return fmt.Errorf("want an object, got %T", v)
		}
		e.RequestParameters = m
		return nil
	case "user.id":
		return str(&e.UserID)
	case "user.name":
		return str(&e.UserName)
	case "cloud.account.id":
		return str(&e.AccountID)
	case "cloud.region":
		return str(&e.Region)
	case "source.ip":
		return str(&e.SourceIP)
	case "user_agent.original":
		return str(&e.UserAgent)
	case "gen_ai.request.model.id":
		return str(&e.ModelID)
	case "gen_ai.prompt":
		return str(&e.Prompt)
	case "gen_ai.system_prompt":
		return str(&e.SystemPrompt)
	case "gen_ai.completion":
		return str(&e.Completion)
	case "gen_ai.usage.prompt_tokens":
		return num(&e.PromptTokens, &e.HasPromptTokens)
	case "gen_ai.usage.completion_tokens":
		return num(&e.CompletionTokens, &e.HasCompletionTokens)
	case "gen_ai.guardrail_id":
		return str(&e.GuardrailID)
	case "gen_ai.guardrail.intervened":
		b, ok := v.(bool)
		if !ok {
			return fmt.Errorf("want true or false, got %T", v)
		}
		e.GuardrailIntervened = b
		return nil
	case "process.command_line":
		return str(&e.CommandLine)
	case "process.name":
		return str(&e.ProcessName)
	case "host.name":
		return str(&e.HostName)
	}
	return errNoSlot
}

// normalizeYAML turns YAML-decoded values (map[string]any, ints) into JSON
// conventions (float64 numbers).
func normalizeYAML(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = normalizeYAML(e)
		}
		return m
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = normalizeYAML(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = normalizeYAML(e)
		}
		return l
	case int:
		return float64(x)
	case int64:
		return float64(x)
	}
	return v
}
