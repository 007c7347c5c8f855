package processor

import (
	"fmt"
	"strings"
	"time"

	"github.com/bedrockwatch/bedrockwatch/processor/redact"
	"github.com/bedrockwatch/bedrockwatch/processor/rules"
	"github.com/bedrockwatch/bedrockwatch/schemas"
)

// snap is the compact projection of an event that state keeps and alerts are
// built from: enough to order it, cite it as evidence and describe the actor.
// It holds no prompt text unless the rule includes prompts, and then only the
// masked, truncated excerpt.
type snap struct {
	T      time.Time              `json:"t"`
	O      schemas.Origin         `json:"o"`
	ID     string                 `json:"id"`
	DS     string                 `json:"ds"`
	Act    string                 `json:"a,omitempty"`
	Out    string                 `json:"out,omitempty"`
	Err    string                 `json:"err,omitempty"`
	Acct   string                 `json:"acct,omitempty"`
	ARN    string                 `json:"arn,omitempty"`
	PType  string                 `json:"pt,omitempty"`
	Key    string                 `json:"key,omitempty"`
	User   string                 `json:"user,omitempty"`
	Host   string                 `json:"host,omitempty"`
	IP     string                 `json:"ip,omitempty"`
	UA     string                 `json:"ua,omitempty"`
	Model  string                 `json:"model,omitempty"`
	PTok   *int64                 `json:"ptok,omitempty"`
	CTok   *int64                 `json:"ctok,omitempty"`
	Prompt *schemas.PromptExcerpt `json:"prompt,omitempty"`
	Fields map[string]any         `json:"f,omitempty"`

	// enc is the JSON of the snap once encoded in a state record (see
	// appendJSONCached): a snap does not change once made, and a sequence
	// rewrites its candidates on every event.
	enc []byte
	// src, when not nil, is what the snap is still to be projected from
	// (see lazySnap): only T is set until resolve.
	src *snapSrc
}

// snapSrc is the event and rule a lazy snap is projected from, and the
// projection once made (so that copies of the snap resolve alike).
type snapSrc struct {
	en  *Engine
	r   *rules.Rule
	e   *schemas.Event
	res *snap
}

// lazySnap returns the snap of e for r, projected only when it is read
// (resolve) or encoded. Most evidence of a stateful rule is dropped unread
// when its bucket or window closes without an alert, before any sync: it
// is then never projected, nor its prompt masked. The snap holds e until
// then; the engine bounds the event bytes so held (writeBehind.hold).
func (en *Engine) lazySnap(r *rules.Rule, e *schemas.Event) *snap {
	l := &struct {
		sn  snap
		src snapSrc
	}{snap{T: e.Timestamp}, snapSrc{en: en, r: r, e: e}}
	l.sn.src = &l.src
	en.pending.hold(e)
	return &l.sn
}

// resolve projects a lazy snap; others are left as they are.
func (s *snap) resolve() {
	src := s.src
	if src == nil {
		return
	}
	if src.res == nil {
		sn := src.en.snapOf(src.r, src.e)
		src.res, src.e = &sn, nil
	}
	*s = *src.res
}

// commandLineChars bounds the command line quoted in evidence.
const commandLineChars = 256

func (en *Engine) snapOf(r *rules.Rule, e *schemas.Event) snap {
	s := en.snapWithoutPrompt(r, e)
	s.Prompt = en.promptOf(r, e)
	return s
}

// promptOf returns the masked, truncated prompt excerpt of e if r includes
// prompts, else nil. Masking scans the prompt with every secret pattern, so
// a rule whose alerts may be suppressed computes it only for the alerts it
// sends (see singleRunner).
func (en *Engine) promptOf(r *rules.Rule, e *schemas.Event) *schemas.PromptExcerpt {
	if !r.IncludePrompt || e.Prompt == "" {
		return nil
	}
	text, cut, masked := redact.Excerpt(e.Prompt, en.cfg.PromptChars)
	return &schemas.PromptExcerpt{Text: text, Length: e.RuneCount(e.Prompt), Truncated: cut, Masked: masked}
}

// snapWithoutPrompt is snapOf without the prompt excerpt.
func (en *Engine) snapWithoutPrompt(r *rules.Rule, e *schemas.Event) snap {
	s := snap{T: e.Timestamp, O: e.Origin, ID: e.ID, DS: e.Dataset, Act: e.Action, Out: e.Outcome, Err: e.ErrorCode,
		Acct: e.AccountID, ARN: e.UserID, PType: e.IdentityType, Key: e.AccessKeyID, User: e.UserName,
		Host: e.HostName, IP: e.SourceIP, UA: e.UserAgent, Model: e.ModelID}
	if e.HasPromptTokens {
		n := e.PromptTokens
		s.PTok = &n
	}
	if e.HasCompletionTokens {
		n := e.CompletionTokens
		s.CTok = &n
	}
	if e.CommandLine != "" {
		text, _, _ := redact.Excerpt(e.CommandLine, commandLineChars)
		s.field("process.command_line", text)
		if e.ProcessName != "" {
			s.field("process.name", e.ProcessName)
		}
	}
	for _, f := range r.EvidenceFields {
		v := schemas.FieldGetter(f)(e)
		if v.IsNull() {
			continue
		}
		if v.Kind == schemas.String {
			masked, _ := redact.Mask(v.Str)
			s.field(f, masked)
			continue
		}
		s.field(f, v.Any())
	}
	return s
}

func (s *snap) field(k string, v any) {
	if s.Fields == nil {
		s.Fields = map[string]any{}
	}
	s.Fields[k] = v
}

func (s *snap) before(o *snap) bool { return schemas.OrderBefore(s.T, s.O, s.ID, o.T, o.O, o.ID) }

func (s *snap) subject() string {
	switch {
	case s.Key != "":
		return s.Key
	case s.ARN != "":
		return s.ARN
	}
	return s.Host
}

func (s *snap) evidence() schemas.Evidence {
	return schemas.Evidence{Dataset: s.DS, EventID: s.ID, Time: s.T, Action: s.Act, Outcome: s.Out, ErrorCode: s.Err,
		Topic: s.O.Topic, Partition: s.O.Partition, Offset: s.O.Offset, File: s.O.File, Line: s.O.Line, Fields: s.Fields}
}

// alertSpec is what a runner knows of an alert it raises.
type alertSpec struct {
	groupFields []string
	groupValues []string
	chain       []snap   // the triggering events, in event-time order
	idParts     []string // what identifies the match, after the rule id
	last        *schemas.Event
}

// buildAlert assembles an alert from the evidence. Severity and risk score
// come from the first override whose condition holds for the event that
// completed the match.
func (en *Engine) buildAlert(r *rules.Rule, sp alertSpec) *schemas.Alert {
	a := &schemas.Alert{
		Rule:     schemas.AlertRule{ID: r.ID, Name: r.Name, Severity: r.Severity, RiskScore: r.RiskScore, Threat: threats(r)},
		Group:    schemas.AlertGroup{Fields: nonNil(sp.groupFields), Values: nonNil(sp.groupValues)},
		ModelIDs: []string{},
		Metrics:  map[string]any{},
	}
	if sp.last != nil {
		for _, o := range r.Compiled {
			if o.Match.Match(sp.last) {
				a.Rule.Severity, a.Rule.RiskScore = o.Severity, o.RiskScore
				break
			}
		}
	}
	chain := sp.chain
	last := &chain[len(chain)-1]
	a.ID = schemas.AlertID(r.ID, sp.idParts...)
	a.Time = last.T
	a.Window = schemas.Window{Start: chain[0].T, End: last.T}
	if len(sp.groupValues) > 0 {
		a.Subject = schemas.JoinGroup(sp.groupValues)
	} else {
		a.Subject = last.subject()
	}
	a.Actor = actorOf(chain)
	var ptok, ctok int64
	var hasP, hasC bool
	var cost costTally
	for i := range chain {
		s := &chain[i]
		if s.Model != "" && !contains(a.ModelIDs, s.Model) {
			a.ModelIDs = append(a.ModelIDs, s.Model)
		}
		if s.PTok != nil {
			ptok += *s.PTok
			hasP = true
		}
		if s.CTok != nil {
			ctok += *s.CTok
			hasC = true
		}
		if s.PTok != nil || s.CTok != nil {
			cost.add(en, s.Model, deref(s.PTok), deref(s.CTok))
		}
		if s.Prompt != nil {
			a.Prompt = s.Prompt
		}
		if len(a.Evidence) < en.cfg.MaxEvidence {
			a.Evidence = append(a.Evidence, s.evidence())
		}
	}
	a.EvidenceCount = len(chain)
	a.Metrics["count"] = len(chain)
	if hasP {
		a.Metrics["prompt_tokens"] = ptok
	}
	if hasC {
		a.Metrics["completion_tokens"] = ctok
	}
	cost.put(a.Metrics)
	a.Summary = summarize(a, chain)
	return a
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

func threats(r *rules.Rule) []schemas.Threat {
	out := make([]schemas.Threat, 0, len(r.Threat))
	for _, t := range r.Threat {
		out = append(out, schemas.Threat{Framework: t.Framework, Tactic: ref(t.Tactic), Technique: ref(t.Technique), Subtechnique: ref(t.Subtechnique)})
	}
	return out
}

func ref(r *rules.Ref) *schemas.ThreatRef {
	if r == nil {
		return nil
	}
	return &schemas.ThreatRef{ID: r.ID, Name: r.Name}
}

// maxActorValues caps the distinct source IPs and user agents of an alert.
const maxActorValues = 16

// actorOf gathers the actor from the evidence: for single values the latest
// event that has one wins; source IPs and user agents are the distinct values
// in event order.
func actorOf(chain []snap) schemas.Actor {
	a := schemas.Actor{SourceIPs: []string{}, UserAgents: []string{}}
	for i := range chain {
		s := &chain[i]
		set := func(dst *string, v string) {
			if v != "" {
				*dst = v
			}
		}
		set(&a.AccountID, s.Acct)
		set(&a.PrincipalARN, s.ARN)
		set(&a.PrincipalType, s.PType)
		set(&a.AccessKeyID, s.Key)
		set(&a.UserName, s.User)
		set(&a.HostName, s.Host)
		if s.IP != "" && !contains(a.SourceIPs, s.IP) && len(a.SourceIPs) < maxActorValues {
			a.SourceIPs = append(a.SourceIPs, s.IP)
		}
		if s.UA != "" && !contains(a.UserAgents, s.UA) && len(a.UserAgents) < maxActorValues {
			a.UserAgents = append(a.UserAgents, s.UA)
		}
	}
	return a
}

// summarize writes the alert's one human-readable line: what happened, who
// did it, from where.
func summarize(a *schemas.Alert, chain []snap) string {
	var b strings.Builder
	b.WriteString(a.Rule.Name)
	b.WriteString(": ")
	var acts []string
	for i := range chain {
		act := chain[i].Act
		if act == "" && chain[i].DS == schemas.DatasetEndpoint {
			if cl, ok := chain[i].Fields["process.command_line"].(string); ok {
				act, _ = redact.Truncate(cl, 120)
				act = "`" + act + "`"
			}
		}
		if act != "" && (len(acts) == 0 || acts[len(acts)-1] != act) {
			acts = append(acts, act)
		}
	}
	if len(acts) > 6 {
		acts = append(acts[:5], fmt.Sprintf("… (%d events)", len(chain)))
	}
	b.WriteString(strings.Join(acts, " → "))
	who := a.Actor.PrincipalARN
	if who == "" {
		who = a.Actor.UserName
	}
	if who != "" {
		b.WriteString(" by ")
		b.WriteString(who)
	}
	if a.Actor.AccessKeyID != "" {
		fmt.Fprintf(&b, " (key %s)", a.Actor.AccessKeyID)
	}
	if a.Actor.HostName != "" {
		fmt.Fprintf(&b, " on %s", a.Actor.HostName)
	}
	if len(a.Actor.SourceIPs) > 0 {
		fmt.Fprintf(&b, " from %s", a.Actor.SourceIPs[0])
	}
	if len(a.ModelIDs) > 0 {
		fmt.Fprintf(&b, "; model %s", a.ModelIDs[0])
	}
	if a.Prompt != nil && a.Prompt.Masked > 0 {
		fmt.Fprintf(&b, "; %d secret(s) masked in the prompt", a.Prompt.Masked)
	}
	return b.String()
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}
