package bench

import (
	"container/heap"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Record is one generated input record.
type Record struct {
	Stream Stream
	// Key is the Kafka record key: the access key id of a CloudTrail
	// record, the identity ARN of an invocation log, the host name of an
	// endpoint event. Key and Value are the caller's: the generator never
	// touches them again.
	Key, Value []byte
	// EventTime is the record's @timestamp.
	EventTime time.Time
	// Step is set on the records of injected attacks and decoys.
	Step *Step
}

// Step describes an attack or decoy record.
type Step struct {
	Attack  int    // index into Generator.Attacks
	Action  string // CloudTrail eventName, or "ModelInvocationLog"
	EventID string // eventID / requestId
	// Trigger marks the record expected to complete the sequence: the
	// first invocation after the enumeration.
	Trigger bool
}

// Attack is one injected LLMjacking attack, or a decoy.
type Attack struct {
	ID    int
	Decoy bool // a temporary key (ASIA…): the sequence rule must stay silent
	// Tamper: the attack also deleted the invocation logging
	// configuration; Guardrail: it also deleted a guardrail.
	Tamper, Guardrail bool
	AccessKeyID       string
	PrincipalARN      string
	Account           string
	Start             time.Time // event time of the first step
	// Steps is the number of records of the attack; Emitted those
	// generated so far. The attack is complete when they are equal.
	Steps, Emitted int
	// TriggerEventID is the eventID of the first invocation.
	TriggerEventID string
}

// Complete reports whether every record of the attack has been generated.
func (a Attack) Complete() bool { return a.Emitted == a.Steps }

// Stats counts what a Generator produced.
type Stats struct {
	Records     int64
	Bytes       int64 // keys and values
	ByStream    [numStreams]int64
	BytesBy     [numStreams]int64
	Bedrock     int64 // CloudTrail records of bedrock.amazonaws.com
	InvokedBy   int64 // other CloudTrail records made by Bedrock on a caller's behalf
	AttackSteps int64
}

// Generator produces the traffic of a Mix, deterministically from its seed.
// It is not safe for concurrent use.
type Generator struct {
	mix  Mix
	seed uint64
	r    *rand.Rand
	zipf *rand.Zipf

	n        int64   // records generated
	step     float64 // nanoseconds of event time per record
	pStream  [2]float64
	attackP  float64 // per-record probability of an attack or decoy start
	decoyP   float64 // of which decoys
	nextAtk  int64   // record index of the next attack start
	pending  stepHeap
	stepSeq  int64
	attacks  []Attack
	atkKeys  []*keyInfo
	accounts []string

	keys   [1 << 13]*keyInfo // direct-mapped cache of background keys
	corpus []byte
	tc     timeCache

	slab  []byte // records' keys and values are built here
	ct    ctCtx  // reused by appendCloudTrail
	stats Stats
}

// NewGenerator returns a generator of m's traffic. The same m and seed give
// the same records in the same order.
func NewGenerator(m Mix, seed uint64) (*Generator, error) {
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	r := rand.New(rand.NewPCG(seed, seed^0x5bd1e9955bd1e995))
	g := &Generator{mix: m, seed: seed, r: r}
	g.zipf = rand.NewZipf(r, m.ZipfS, 1, uint64(m.Keys-1))
	g.step = float64(time.Second) / m.EventRate
	total := 1 + m.InvocationShare + m.EndpointShare
	g.pStream = [2]float64{1 / total, (1 + m.InvocationShare) / total}
	g.attackP = (m.AttacksPerMillion + m.DecoysPerMillion) / 1e6
	if g.attackP > 0 {
		g.decoyP = m.DecoysPerMillion / (m.AttacksPerMillion + m.DecoysPerMillion)
	}
	g.nextAtk = g.drawAttackGap()
	g.accounts = make([]string, m.Accounts)
	for i := range g.accounts {
		g.accounts[i] = fmt.Sprintf("%012d", 100000000000+mix64(seed^uint64(i)*0x9e37)%899999999999)
	}
	g.corpus = buildCorpus(rand.New(rand.NewPCG(seed^0xc0ffee, 7)), 1<<20)
	return g, nil
}

// Mix returns the generator's mix.
func (g *Generator) Mix() Mix { return g.mix }

// Stats returns what was generated so far.
func (g *Generator) Stats() Stats { return g.stats }

// Attacks returns the attacks and decoys started so far, by ID.
func (g *Generator) Attacks() []Attack { return append([]Attack(nil), g.attacks...) }

// Clock returns the event time the traffic has reached (without disorder).
func (g *Generator) Clock() time.Time { return g.clockAt(g.n) }

func (g *Generator) clockAt(i int64) time.Time {
	return g.mix.Start.Add(time.Duration(float64(i) * g.step))
}

// SetAttacks changes, from the next record on, how many attacks and decoys
// start per million records and the longest gap of the attacks that start
// from now on; the share of decoys is kept. Two generators of the same Mix
// and seed stay identical if both call it at the same record.
func (g *Generator) SetAttacks(perMillion float64, gapMax time.Duration) error {
	m := g.mix
	if total := m.AttacksPerMillion + m.DecoysPerMillion; total > 0 {
		m.DecoysPerMillion = perMillion * m.DecoysPerMillion / total
		m.AttacksPerMillion = perMillion - m.DecoysPerMillion
	} else {
		m.AttacksPerMillion = perMillion
	}
	m.AttackGapMax = gapMax
	if err := m.Validate(); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	g.mix = m
	g.attackP = (m.AttacksPerMillion + m.DecoysPerMillion) / 1e6
	g.decoyP = 0
	if g.attackP > 0 {
		g.decoyP = m.DecoysPerMillion / (m.AttacksPerMillion + m.DecoysPerMillion)
	}
	g.nextAtk = g.drawAttackGap()
	return nil
}

// drawAttackGap returns the index of the next attack start: gaps between
// starts are geometric (a Poisson process over records).
func (g *Generator) drawAttackGap() int64 {
	if g.attackP <= 0 {
		return math.MaxInt64
	}
	u := g.r.Float64()
	return g.n + 1 + int64(math.Log1p(-u)/math.Log1p(-g.attackP))
}

// Next returns the next record.
func (g *Generator) Next() Record {
	if g.n >= g.nextAtk {
		g.startAttack()
		g.nextAtk = g.drawAttackGap()
	}
	var rec Record
	if len(g.pending) > 0 && g.pending[0].at <= g.n {
		ps := heap.Pop(&g.pending).(pendingStep)
		rec = g.emitStep(ps)
	} else {
		rec = g.background()
	}
	g.n++
	g.stats.Records++
	g.stats.ByStream[rec.Stream]++
	nb := int64(len(rec.Key) + len(rec.Value))
	g.stats.Bytes += nb
	g.stats.BytesBy[rec.Stream] += nb
	return rec
}

// background returns one record of ordinary traffic.
func (g *Generator) background() Record {
	t := g.clockAt(g.n)
	if g.mix.Disorder > 0 {
		t = t.Add(-time.Duration(g.r.Int64N(int64(g.mix.Disorder))))
	}
	u := g.r.Float64()
	switch {
	case u < g.pStream[0]:
		k := g.key(int(g.zipf.Uint64()))
		key := g.carve(k.keyID)
		b, bedrock := g.appendBackgroundCloudTrail(g.open(), k, t)
		if bedrock {
			g.stats.Bedrock++
		}
		return Record{Stream: CloudTrail, Key: key, Value: g.close(b), EventTime: t}
	case u < g.pStream[1]:
		k := g.key(int(g.zipf.Uint64()))
		key := g.carve(k.arn)
		b := g.appendInvocation(g.open(), k, t, invocationOpts{})
		return Record{Stream: Invocations, Key: key, Value: g.close(b), EventTime: t}
	default:
		b, host := g.appendEndpoint(g.open(), t)
		v := g.close(b)
		return Record{Stream: Endpoint, Key: g.carveString(host), Value: v, EventTime: t}
	}
}

// slabBytes is the size of the slabs records are built in.
const slabBytes = 512 << 10

// open returns an empty slice at the free end of the slab to build a record
// in; close takes what was built. Records are built in place: one
// allocation per slab of records, and no copy, unless a record outgrows
// the slab's free space (then append moved it, and it keeps its own array).
func (g *Generator) open() []byte {
	if cap(g.slab)-len(g.slab) < 4<<10 {
		g.slab = make([]byte, 0, slabBytes)
	}
	return g.slab[len(g.slab):len(g.slab)]
}

func (g *Generator) close(b []byte) []byte {
	free := g.slab[len(g.slab):cap(g.slab)]
	if len(b) > 0 && cap(free) > 0 && &b[0] == &free[0] && len(b) <= cap(free) {
		g.slab = g.slab[:len(g.slab)+len(b)]
		return b[:len(b):len(b)]
	}
	return b[:len(b):len(b)] // outgrew the slab: it has its own array
}

// carve copies b into the slab and returns the copy. A slab stays alive
// while any record carved from it does.
func (g *Generator) carve(b []byte) []byte {
	if cap(g.slab)-len(g.slab) < len(b) {
		g.slab = make([]byte, 0, slabBytes)
	}
	off := len(g.slab)
	g.slab = append(g.slab, b...)
	return g.slab[off:len(g.slab):len(g.slab)]
}

func (g *Generator) carveString(s string) []byte {
	if cap(g.slab)-len(g.slab) < len(s) {
		g.slab = make([]byte, 0, slabBytes)
	}
	off := len(g.slab)
	g.slab = append(g.slab, s...)
	return g.slab[off:len(g.slab):len(g.slab)]
}

// --- keys --------------------------------------------------------------

// keyInfo is an access key and the principal behind it, derived from the
// key's index and the seed alone, so that a million keys cost no memory.
type keyInfo struct {
	idx      int
	longTerm bool
	keyID    []byte
	account  string
	arn      []byte // principal ARN (user.id)
	identity []byte // the userIdentity object without its closing brace
	ip       []byte
	ua       string
	region   string
}

// key returns background key i, from the cache or derived.
func (g *Generator) key(i int) *keyInfo {
	slot := &g.keys[i&(len(g.keys)-1)]
	if k := *slot; k != nil && k.idx == i {
		return k
	}
	k := g.deriveKey(mix64(g.seed^uint64(i)*0x2545f4914f6cdd1d), i, g.mix.LongTermShare)
	*slot = k
	return k
}

var userNames = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
	"mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "yasmin",
	"build-bot", "ci-deploy", "terraform", "svc-reporting", "svc-etl", "backup-agent", "data-sync", "grafana"}

var roleNames = []string{"eks-node-role", "lambda-exec-orders", "lambda-exec-billing", "ecs-task-api",
	"ecs-task-worker", "bedrock-inference-role", "github-actions-deploy", "AWSReservedSSO_Developer_5f1c0a7e",
	"AWSReservedSSO_ReadOnly_9d2e11b4", "data-pipeline-glue", "sagemaker-exec", "ec2-app-server",
	"rag-indexer", "chatbot-backend", "support-assistant", "analytics-athena"}

var userAgents = []string{
	"Boto3/1.35.50 md/Botocore#1.35.50 ua/2.0 os/linux#6.8.0-1016-aws md/arch#x86_64 lang/python#3.12.3 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.50",
	"aws-cli/2.17.20 md/awscrt#0.20.11 ua/2.0 os/macos#23.5.0 md/arch#arm64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#standard md/installer#source md/prompt#off md/command#s3.ls",
	"aws-sdk-go-v2/1.30.3 ua/2.0 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/sts#1.30.3",
	"aws-sdk-java/2.26.25 Linux/5.10.220-209.869.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.12+7-LTS Java/17.0.12 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy",
	"aws-sdk-js/3.620.0 ua/2.1 os/linux#5.10.219-208.866.amzn2.x86_64 lang/js md/nodejs#20.15.1 api/bedrock-runtime#3.620.0",
	"APN/1.0 HashiCorp/1.0 Terraform/1.9.3 (+https://www.terraform.io) terraform-provider-aws/5.60.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.30.3 ua/2.0 os/linux lang/go#1.22.5",
	"console.amazonaws.com",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/127.0.0.0 Safari/537.36",
}

var regions = []string{"us-east-1", "us-east-1", "us-east-1", "us-west-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"}

// deriveKey builds the key of hash h. longTermShare decides its kind.
func (g *Generator) deriveKey(h uint64, idx int, longTermShare float64) *keyInfo {
	k := &keyInfo{idx: idx}
	k.longTerm = float64(h%10000)/10000 < longTermShare
	h2 := mix64(h)
	k.account = g.accounts[(h>>14)%uint64(len(g.accounts))]
	prefix := "ASIA"
	if k.longTerm {
		prefix = "AKIA"
	}
	k.keyID = appendBase32(append(make([]byte, 0, 20), prefix...), h2, 16)
	k.region = regions[(h>>24)%uint64(len(regions))]
	k.ua = userAgents[(h>>30)%uint64(len(userAgents))]
	k.ip = appendIP(nil, mix64(h2), (h>>36)%5 < 2)
	id := make([]byte, 0, 640)
	if k.longTerm {
		name := userNames[(h>>40)%uint64(len(userNames))]
		if n := (h >> 46) % 50; n > 0 {
			name = fmt.Sprintf("%s%d", name, n)
		}
		k.arn = fmt.Appendf(nil, "arn:aws:iam::%s:user/%s", k.account, name)
		id = append(id, `{"type":"IAMUser","principalId":"AIDA`...)
		id = appendBase32(id, mix64(h2^1), 17)
		id = append(id, `","arn":"`...)
		id = append(id, k.arn...)
		id = append(id, `","accountId":"`...)
		id = append(id, k.account...)
		id = append(id, `","accessKeyId":"`...)
		id = append(id, k.keyID...)
		id = append(id, `","userName":"`...)
		id = append(id, name...)
		id = append(id, '"')
	} else {
		role := roleNames[(h>>40)%uint64(len(roleNames))]
		var session []byte
		switch (h >> 46) % 3 {
		case 0:
			session = append([]byte("i-0"), appendBase32(nil, mix64(h2^2), 16)...)
			for i := 3; i < len(session); i++ { // instance ids are lower-case hex
				session[i] = hexDigits[session[i]&15]
			}
		case 1:
			session = fmt.Appendf(nil, "botocore-session-%d", 1700000000+(h>>20)%40000000)
		default:
			session = fmt.Appendf(nil, "%s@example.com", userNames[(h>>50)%uint64(len(userNames))])
		}
		roleID := appendBase32([]byte("AROA"), mix64(h2^3), 17)
		k.arn = fmt.Appendf(nil, "arn:aws:sts::%s:assumed-role/%s/%s", k.account, role, session)
		id = append(id, `{"type":"AssumedRole","principalId":"`...)
		id = append(id, roleID...)
		id = append(id, ':')
		id = append(id, session...)
		id = append(id, `","arn":"`...)
		id = append(id, k.arn...)
		id = append(id, `","accountId":"`...)
		id = append(id, k.account...)
		id = append(id, `","accessKeyId":"`...)
		id = append(id, k.keyID...)
		id = append(id, `","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"`...)
		id = append(id, roleID...)
		id = append(id, `","arn":"arn:aws:iam::`...)
		id = append(id, k.account...)
		id = append(id, `:role/`...)
		id = append(id, role...)
		id = append(id, `","accountId":"`...)
		id = append(id, k.account...)
		id = append(id, `","userName":"`...)
		id = append(id, role...)
		id = append(id, `"},"webIdFederationData":{},"attributes":{"creationDate":"`...)
		created := g.mix.Start.Add(-time.Duration((h>>8)%43200) * time.Second)
		id = created.UTC().AppendFormat(id, "2006-01-02T15:04:05Z")
		id = append(id, `","mfaAuthenticated":"false"}}`...)
		if (h>>52)%4 == 0 {
			id = append(id, `,"ec2RoleDelivery":"2.0"`...)
		}
	}
	k.identity = id
	return k
}

// --- attacks -----------------------------------------------------------

type stepKind uint8

const (
	stepCallerIdentity stepKind = iota
	stepList
	stepGetLogging
	stepDeleteLogging
	stepDeleteGuardrail
	stepInvoke
	stepInvocationLog
)

type pendingStep struct {
	at      int64 // record index at which it is due
	seq     int64
	t       time.Time
	attack  int
	kind    stepKind
	action  string
	model   string
	trigger bool
}

type stepHeap []pendingStep

func (h stepHeap) Len() int { return len(h) }
func (h stepHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h stepHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *stepHeap) Push(x any)   { *h = append(*h, x.(pendingStep)) }
func (h *stepHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

var attackerAgents = []string{
	"Boto3/1.34.2 md/Botocore#1.34.2 ua/2.0 os/linux#6.1 lang/python#3.11",
	"aws-sdk-js/3.515.0 ua/2.0 os/linux#5.15.0 lang/js md/nodejs#18.19.0 api/bedrock#3.515.0",
	"python-requests/2.31.0",
}

var invokeModels = []string{
	"anthropic.claude-3-5-sonnet-20240620-v1:0", "anthropic.claude-3-5-sonnet-20241022-v2:0",
	"anthropic.claude-3-haiku-20240307-v1:0", "anthropic.claude-3-opus-20240229-v1:0",
	"us.anthropic.claude-3-7-sonnet-20250219-v1:0", "anthropic.claude-sonnet-4-20250514-v1:0",
	"meta.llama3-1-70b-instruct-v1:0", "amazon.titan-text-express-v1", "mistral.mistral-large-2407-v1:0",
	"cohere.command-r-plus-v1:0",
}

// startAttack schedules the records of a new attack or decoy starting now.
func (g *Generator) startAttack() {
	id := len(g.attacks)
	decoy := g.r.Float64() < g.decoyP
	h := mix64(g.seed ^ 0xa77ac4 ^ uint64(id)*0x9e3779b97f4a7c15)
	share := 1.0
	if decoy {
		share = 0
	}
	k := g.deriveKey(h, -1-id, share)
	// A stolen key is used from the attacker's own address and tools.
	k.ip = appendIP(nil, mix64(h^0x1b), false)
	k.ua = attackerAgents[(h>>33)%uint64(len(attackerAgents))]
	k.region = "us-east-1"
	a := Attack{ID: id, Decoy: decoy, AccessKeyID: string(k.keyID), PrincipalARN: string(k.arn), Account: k.account}
	t0 := g.clockAt(g.n)
	a.Start = t0
	g.attacks = append(g.attacks, a)
	g.atkKeys = append(g.atkKeys, k)

	at := func(t time.Time) int64 { return g.n + int64(float64(t.Sub(t0))/g.step) }
	add := func(t time.Time, kind stepKind, action, model string, trigger bool) {
		g.stepSeq++
		heap.Push(&g.pending, pendingStep{at: at(t), seq: g.stepSeq, t: t, attack: id, kind: kind, action: action, model: model, trigger: trigger})
		g.attacks[id].Steps++
	}
	sec := func(lo, hi int) time.Duration { return time.Duration(lo+g.r.IntN(hi-lo+1)) * time.Second }

	add(t0, stepCallerIdentity, "GetCallerIdentity", "", false)
	tList := t0.Add(sec(1, 5))
	add(tList, stepList, "ListFoundationModels", "", false)
	if !decoy && g.r.Float64() < g.mix.TamperShare {
		g.attacks[id].Tamper = true
		add(tList.Add(sec(6, 12)), stepGetLogging, "GetModelInvocationLoggingConfiguration", "", false)
		add(tList.Add(sec(13, 19)), stepDeleteLogging, "DeleteModelInvocationLoggingConfiguration", "", false)
		if g.r.IntN(2) == 0 {
			g.attacks[id].Guardrail = true
			add(tList.Add(sec(20, 30)), stepDeleteGuardrail, "DeleteGuardrail", "", false)
		}
	}
	gap := g.mix.AttackGapMin + time.Duration(g.r.Int64N(int64(g.mix.AttackGapMax-g.mix.AttackGapMin)+1))
	t := tList.Add(gap)
	model := invokeModels[g.r.IntN(4)]
	for i := range 1 + g.r.IntN(3) {
		action := "InvokeModel"
		if g.r.IntN(3) == 0 {
			action = "Converse"
		}
		if i > 0 {
			t = t.Add(sec(5, 30))
		}
		add(t, stepInvoke, action, model, i == 0)
		if !g.attacks[id].Tamper { // deleted logging leaves no invocation log
			add(t.Add(sec(0, 1)), stepInvocationLog, action, model, false)
		}
	}
}

// emitStep generates the record of a due attack step.
func (g *Generator) emitStep(ps pendingStep) Record {
	k := g.atkKeys[ps.attack]
	a := &g.attacks[ps.attack]
	a.Emitted++
	g.stats.AttackSteps++
	var eid [36]byte
	eventID := appendUUID(eid[:0], g.r)
	st := &Step{Attack: ps.attack, Action: ps.action, EventID: string(eventID), Trigger: ps.trigger}
	if ps.trigger {
		a.TriggerEventID = st.EventID
	}
	switch ps.kind {
	case stepInvocationLog:
		st.Action = "ModelInvocationLog"
		key := g.carve(k.arn)
		b := g.appendInvocation(g.open(), k, ps.t, invocationOpts{requestID: eventID, model: ps.model, operation: ps.action})
		return Record{Stream: Invocations, Key: key, Value: g.close(b), EventTime: ps.t, Step: st}
	case stepCallerIdentity:
		key := g.carve(k.keyID)
		b := g.appendCloudTrail(g.open(), k, ps.t, &stsGetCallerIdentity, ctOpts{eventID: eventID})
		return Record{Stream: CloudTrail, Key: key, Value: g.close(b), EventTime: ps.t, Step: st}
	}
	act := bedrockAttackActions[ps.kind]
	key := g.carve(k.keyID)
	b := g.appendCloudTrail(g.open(), k, ps.t, act, ctOpts{eventID: eventID, model: ps.model, action: ps.action})
	g.stats.Bedrock++
	return Record{Stream: CloudTrail, Key: key, Value: g.close(b), EventTime: ps.t, Step: st}
}
