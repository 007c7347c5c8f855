package processor

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fastjson"

	"github.com/bedrockwatch/bedrockwatch/processor/rules"
	"github.com/bedrockwatch/bedrockwatch/schemas"
)

// Store is the keyed state an Engine reads and writes. Implementations:
// state.Memory, the Badger store, and the service's write-set overlay. A
// Store is used by one goroutine at a time.
type Store interface {
	// Get returns the value of key and whether it exists.
	Get(key string) ([]byte, bool, error)
	// Put sets key to value; the store may keep value.
	Put(key string, value []byte) error
	// Delete removes key.
	Delete(key string) error
	// Scan calls fn for each key with prefix in ascending order until fn
	// returns false. fn may Put and Delete.
	Scan(prefix string, fn func(key string, value []byte) bool) error
}

// Config configures an Engine.
type Config struct {
	// AllowedLateness is how far behind the highest event time seen an
	// event may arrive and still be on time. Default 15m.
	AllowedLateness time.Duration `yaml:"allowed_lateness"`
	// MaxEvidence caps the evidence entries of one alert. Default 20.
	MaxEvidence int `yaml:"max_evidence"`
	// PromptChars is the length, in characters, of prompt excerpts in
	// alerts. Default 256.
	PromptChars int `yaml:"prompt_chars"`
	// MaxCandidates caps the events a sequence keeps per step and group;
	// the oldest go first. Default 32.
	MaxCandidates int `yaml:"max_candidates"`
	// Prices estimate the cost of invocations in alerts (metrics
	// estimated_cost_usd). Default DefaultPrices(); empty means no prices:
	// every model is reported in cost_unknown_models.
	Prices []ModelPrice `yaml:"prices"`
	// ExternalWatermark: Process does not move the watermark; only Advance
	// does. The service sets it and advances every engine with a watermark
	// aligned over its input partitions (the slowest one), so that one
	// partition racing ahead does not make the others' events late. Replay
	// leaves it false: the newest event time seen moves the watermark.
	ExternalWatermark bool `yaml:"-"`
}

// DefaultConfig returns the defaults described on Config.
func DefaultConfig() Config {
	return Config{AllowedLateness: 15 * time.Minute, MaxEvidence: 20, PromptChars: 256, MaxCandidates: 32, Prices: DefaultPrices()}
}

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	if c.AllowedLateness < 0 {
		errs = append(errs, fmt.Errorf("allowed_lateness must not be negative, got %s", c.AllowedLateness))
	}
	if c.MaxEvidence < 1 || c.MaxEvidence > 100 {
		errs = append(errs, fmt.Errorf("max_evidence must be 1 to 100, got %d", c.MaxEvidence))
	}
	if c.PromptChars < 0 {
		errs = append(errs, fmt.Errorf("prompt_chars must not be negative, got %d", c.PromptChars))
	}
	if c.MaxCandidates < 1 {
		errs = append(errs, fmt.Errorf("max_candidates must be positive, got %d", c.MaxCandidates))
	}
	if err := validatePrices(c.Prices); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Stats counts what an Engine did. Maps are keyed by rule id.
type Stats struct {
	Events     int64
	Late       int64
	Alerts     map[string]int64
	Suppressed map[string]int64
}

// runner runs one rule.
type runner interface {
	rule() *rules.Rule
	// process evaluates one event.
	process(e *schemas.Event) error
	// dataset is the data_stream.dataset of every event the rule's
	// conditions can match, "" when they do not require one (see
	// eql.Predicate.Dataset).
	dataset() string
	// passOver is called instead of process for an event of another
	// dataset than dataset(), which no condition of the rule matches: it
	// does what process does before it tests a condition (learning rules
	// note the event time), and nothing else.
	passOver(e *schemas.Event) error
	// expire is called for a state key of this runner whose deadline the
	// watermark has passed.
	expire(key string, wm time.Time) error
	// statePrefix is the prefix of the runner's state keys.
	statePrefix() string
}

// Engine runs rules over one partition's events. It is not safe for
// concurrent use.
type Engine struct {
	cfg     Config
	store   Store
	runners []runner
	byKey   map[string]runner // state prefix → runner
	emit    func(*schemas.Alert)
	supp    *suppressor
	cache   *stateCache
	pending *writeBehind // store is pending: state saved since the last Sync
	encBuf  []byte       // scratch buffer of marshalState
	// snapParser reads evidence back (decodeSnap).
	snapParser fastjson.Parser
	dues       []string // scratch list of sweep
	prices     priceCache

	maxTime   time.Time // highest event time seen
	wm        time.Time // watermark
	lastSweep time.Time
	// nextDue (when dueKnown) is at or before the earliest deadline in the
	// expiry index, so a sweep before it has nothing to do and does not scan
	// the index. Every entry is put through setExpiry, which moves it
	// earlier; a sweep sets it to the first entry it leaves. Nothing else
	// writes the index while the engine is open (the service reopens its
	// engines after a rollback).
	nextDue  uint64 // Unix ms, ordered as the index orders them (putHex16)
	dueKnown bool
	stats    Stats
}

// New returns an Engine running the enabled rules of rs over store, sending
// alerts to emit in the order they are raised.
func New(rs []*rules.Rule, store Store, cfg Config, emit func(*schemas.Alert)) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("processor: %w", err)
	}
	en := &Engine{cfg: cfg, store: store, emit: emit, byKey: map[string]runner{},
		stats: Stats{Alerts: map[string]int64{}, Suppressed: map[string]int64{}}}
	en.supp = &suppressor{en: en}
	en.cache = newStateCache()
	en.useStore(store)
	if err := en.loadMeta(); err != nil {
		return nil, fmt.Errorf("processor: %w", err)
	}
	for _, r := range rs {
		if !r.IsEnabled() {
			continue
		}
		var run runner
		switch {
		case r.Kind == rules.KindEQL && r.Sequence != nil:
			run = newSequenceRunner(en, r)
		case r.Kind == rules.KindEQL && r.Condition != nil:
			run = &singleRunner{en: en, r: r}
		case r.Kind == rules.KindThreshold && r.Condition != nil && r.Threshold != nil:
			run = newThresholdRunner(en, r)
		case r.Kind == rules.KindNewTerms && r.Condition != nil && r.NewTerms != nil:
			run = newNewTermsRunner(en, r)
		case r.Kind == rules.KindOutlier && r.Condition != nil && r.Outlier != nil && r.Outlier.Op != "":
			run = newOutlierRunner(en, r)
		case r.Kind == rules.KindAggregate && r.Condition != nil && r.Aggregate != nil:
			run = newAggregateRunner(en, r)
		default:
			return nil, fmt.Errorf("processor: rule %s: kind %q is not runnable (was it loaded through the rules package?)", r.ID, r.Kind)
		}
		en.runners = append(en.runners, run)
		if p := run.statePrefix(); p != "" {
			en.byKey[p] = run
		}
	}
	return en, nil
}

// useStore makes store the engine's, behind its pending state records.
func (en *Engine) useStore(store Store) {
	en.pending = &writeBehind{Store: store, en: en, m: map[string]any{}, limit: maxPending, snaps: map[string]*snap{}}
	en.store = en.pending
}

// Watermark returns the current watermark (zero before any event).
func (en *Engine) Watermark() time.Time { return en.wm }

// Late returns how many late events the engine has seen: Stats().Late
// without copying the per-rule maps, for callers that ask per event.
func (en *Engine) Late() int64 { return en.stats.Late }

// Stats returns a copy of the counters.
func (en *Engine) Stats() Stats {
	s := en.stats
	s.Alerts = copyCounts(s.Alerts)
	s.Suppressed = copyCounts(s.Suppressed)
	return s
}

func copyCounts(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Process evaluates one event against every rule, then advances the
// watermark. An event older than the watermark is late: it is counted and
// still evaluated against the state that remains (single-event rules see it
// fully; a sequence matches it only with partners not yet expired).
func (en *Engine) Process(e *schemas.Event) error {
	en.stats.Events++
	late := !en.wm.IsZero() && e.Timestamp.Before(en.wm)
	if late {
		en.stats.Late++
	}
	for _, r := range en.runners {
		var err error
		// Most rules require one dataset: the others' events only pass.
		if ds := r.dataset(); ds != "" && ds != e.Dataset {
			err = r.passOver(e)
		} else {
			err = r.process(e)
		}
		if err != nil {
			return fmt.Errorf("rule %s: event %s: %w", r.rule().ID, e.ID, err)
		}
	}
	if en.pending.heldBytes > maxHeldBytes {
		// Lazy evidence holds too many events: project and write it.
		if err := en.Sync(); err != nil {
			return err
		}
	}
	if late {
		// What a late event left due (a first occurrence held for the
		// watermark that has already passed it) is decided now, not at
		// the next move of the watermark, which may never come.
		if err := en.sweep(en.wm); err != nil {
			return err
		}
	}
	if e.Timestamp.After(en.maxTime) {
		en.maxTime = e.Timestamp
		if !en.cfg.ExternalWatermark {
			return en.Advance(en.maxTime.Add(-en.cfg.AllowedLateness))
		}
	}
	return nil
}

// Advance moves the watermark to wm if that is later, expiring state and
// closing suppression periods that end before it. The service calls it on
// idle partitions with processing time, so that periods still close.
func (en *Engine) Advance(wm time.Time) error {
	if !wm.After(en.wm) {
		return nil
	}
	en.wm = wm
	if wm.Sub(en.lastSweep) < time.Second {
		return nil
	}
	en.lastSweep = wm
	return en.sweep(wm)
}

// Flush ends the stream: every suppression period closes and emits its
// follow-up, and all sequence state is expired.
func (en *Engine) Flush() error {
	end := time.Unix(1<<40, 0) // beyond any event time
	if err := en.sweep(end); err != nil {
		return err
	}
	if err := en.Sync(); err != nil {
		return err
	}
	// The stream is over: a store reused later starts a new one.
	en.maxTime, en.wm, en.lastSweep = time.Time{}, time.Time{}, time.Time{}
	return en.store.Delete(metaKey)
}

// metaKey holds the engine's clock: the highest event time seen, the
// watermark and the last sweep, so that an engine reopened on the same store
// (a later replay with --state-dir, a restarted replica) continues in event
// time where the last one stopped.
const metaKey = "m/engine"

type engineMeta struct {
	Max   int64 `json:"max"` // Unix ms; 0 none
	WM    int64 `json:"wm"`
	Sweep int64 `json:"sweep"`
}

func (en *Engine) loadMeta() error {
	raw, ok, err := en.store.Get(metaKey)
	if err != nil || !ok {
		return err
	}
	var m engineMeta
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("engine state %q: %w", metaKey, err)
	}
	ms := func(v int64) time.Time {
		if v == 0 {
			return time.Time{}
		}
		return time.UnixMilli(v).UTC()
	}
	en.maxTime, en.wm, en.lastSweep = ms(m.Max), ms(m.WM), ms(m.Sweep)
	return nil
}

// Sync writes the state records changed since the last Sync to the store:
// the rules keep a record they change decoded until then, and encode it
// once (writeBehind). Call Sync, or Checkpoint, before reading the store
// from outside the engine or handing it on.
func (en *Engine) Sync() error { return en.pending.syncAll() }

// Checkpoint writes the state records changed since the last Sync and the
// engine's clock to the store: all the engine knows is there then. Call it
// before handing the store to a later run (the service calls it once per
// committed batch).
func (en *Engine) Checkpoint() error {
	if err := en.Sync(); err != nil {
		return err
	}
	ms := func(t time.Time) int64 {
		if t.IsZero() {
			return 0
		}
		return t.UnixMilli()
	}
	raw, err := json.Marshal(engineMeta{Max: ms(en.maxTime), WM: ms(en.wm), Sweep: ms(en.lastSweep)})
	if err != nil {
		return err
	}
	return en.store.Put(metaKey, raw)
}

// The expiry index: "x/<deadline, 16 hex digits of Unix ms>/<state key>".
const expiryPrefix = "x/"

func expiryKey(deadline time.Time, stateKey string) string {
	var b [len(expiryPrefix) + 17]byte
	copy(b[:], expiryPrefix)
	putHex16(b[len(expiryPrefix):], uint64(deadline.UnixMilli()))
	b[len(b)-1] = '/'
	return string(b[:]) + stateKey
}

// parseHex16 reads the 16 lower-case hex digits putHex16 writes at the
// start of s.
func parseHex16(s string) (uint64, bool) {
	if len(s) < 16 {
		return 0, false
	}
	var v uint64
	for i := 0; i < 16; i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			v = v<<4 | uint64(c-'0')
		case 'a' <= c && c <= 'f':
			v = v<<4 | uint64(c-'a'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

// putHex16 writes v as 16 lower-case hex digits, as %016x does.
func putHex16(dst []byte, v uint64) {
	const digits = "0123456789abcdef"
	for i := 15; i >= 0; i-- {
		dst[i] = digits[v&0xF]
		v >>= 4
	}
}

// setExpiry moves the expiry entry of stateKey from old to deadline (either
// may be zero: no entry).
func (en *Engine) setExpiry(stateKey string, old, deadline time.Time) error {
	if old.Equal(deadline) {
		return nil
	}
	if !old.IsZero() {
		if err := en.store.Delete(expiryKey(old, stateKey)); err != nil {
			return err
		}
	}
	if deadline.IsZero() {
		return nil
	}
	if ms := uint64(deadline.UnixMilli()); ms < en.nextDue {
		en.nextDue = ms
	}
	return en.store.Put(expiryKey(deadline, stateKey), []byte{})
}

// sweep expires every state key whose deadline is at or before wm, in
// deadline order, so that replay is deterministic.
//
// The due index keys are gathered first, then expired: the list (one string
// per due key; the state key is a substring of it) is reused from one sweep
// to the next while it stays small.
func (en *Engine) sweep(wm time.Time) error {
	if en.dueKnown && uint64(wm.UnixMilli()) < en.nextDue {
		return nil
	}
	var lim [16]byte
	putHex16(lim[:], uint64(wm.UnixMilli()))
	limit := string(lim[:])
	dues := en.dues[:0]
	next, nextOK := uint64(math.MaxUint64), true // no entry left: none due ever
	err := en.store.Scan(expiryPrefix, func(k string, _ []byte) bool {
		rest := k[len(expiryPrefix):]
		if len(rest) < 17 || rest[:16] > limit {
			next, nextOK = parseHex16(rest)
			return false
		}
		dues = append(dues, k)
		return true
	})
	// Expiring the dues below may set earlier entries: setExpiry moves
	// nextDue back for them.
	en.nextDue, en.dueKnown = next, nextOK && err == nil
	defer func() {
		clear(dues)
		if cap(dues) <= 1024 {
			en.dues = dues[:0]
		}
	}()
	if err != nil {
		return err
	}
	for _, k := range dues {
		if err := en.store.Delete(k); err != nil {
			return err
		}
		if err := en.expireKey(k[len(expiryPrefix)+17:], wm); err != nil {
			return err
		}
	}
	return nil
}

func (en *Engine) expireKey(key string, wm time.Time) error {
	if strings.HasPrefix(key, suppressPrefix) {
		return en.supp.expire(key, wm)
	}
	// state keys are "<kind>/<rule id>/<group>"
	prefix := "" // without two slashes: no rule's (ids are not empty)
	if i := strings.IndexByte(key, '/'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '/'); j >= 0 {
			prefix = key[:i+1+j+1]
		}
	}
	if r, ok := en.byKey[prefix]; ok {
		return r.expire(key, wm)
	}
	// A rule that is no longer loaded: drop its state.
	return en.store.Delete(key)
}

// raise passes an alert through the rule's suppression and emits it.
func (en *Engine) raise(r *rules.Rule, e *schemas.Event, a *schemas.Alert) error {
	if r.Suppress != nil {
		suppressed, err := en.supp.offer(r, e, a)
		if err != nil || suppressed {
			return err
		}
	}
	en.send(a)
	return nil
}

func (en *Engine) send(a *schemas.Alert) {
	en.stats.Alerts[a.Rule.ID]++
	if en.emit != nil {
		en.emit(a)
	}
}

// SortedCounts returns the keys of a count map, sorted, for reports.
func SortedCounts(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// hexMillis formats a time for keys.
func hexMillis(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 16) }

// Observe tells the rules that learn a baseline (new_terms, outlier) that
// the stream has had events since t, as if they had seen one then. The
// service calls it with the earliest event time of all its partitions, so
// that a rule's learning period does not start again on each partition of
// the events topic: in replay one engine sees every event, and a partition
// sees only the events of its keys.
func (en *Engine) Observe(t time.Time) error {
	if t.IsZero() {
		return nil
	}
	for _, r := range en.runners {
		var err error
		switch x := r.(type) {
		case *newTermsRunner:
			err = x.observe(t)
		case *outlierRunner:
			err = x.observe(t)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
