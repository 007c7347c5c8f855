package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bedrockwatch/bedrockwatch/processor"
	"github.com/bedrockwatch/bedrockwatch/schemas"
	"github.com/bedrockwatch/bedrockwatch/state"
)

// Metrics receives what the service measures; telemetry.Metrics implements
// it. The zero Options use a no-op.
type Metrics interface {
	Consumed(ctx context.Context, topic, dataset string, n int64)
	DeadLettered(ctx context.Context, reason string, n int64)
	Late(ctx context.Context, n int64)
	Alert(ctx context.Context, rule, severity string)
	ProcessDuration(ctx context.Context, topic string, seconds float64)
	EventToAlert(ctx context.Context, rule string, seconds float64)
	SetLag(topic string, partition int32, lag int64)
	DropPartition(topic string, partition int32)
	SetWatermarkDelay(partition int32, seconds float64)
	SetRestore(partition int32, remaining int64)
	SetStateSize(lsm, vlog int64)
	Transaction(ctx context.Context, committed bool)
}

// Options carries what a Service reports to.
type Options struct {
	Logger  *slog.Logger
	Metrics Metrics
	// ClientOpts are added to every Kafka client (tests: kotel hooks).
	ClientOpts []kgo.Opt
}

// Service is one replica of the consumer group.
type Service struct {
	cfg    Config
	log    *slog.Logger
	met    Metrics
	extra  []kgo.Opt
	routes map[string]*processor.Route
	order  []*processor.Route
	dec    *schemas.Decoder

	db     *state.Badger
	sess   *kgo.GroupTransactSession
	adm    *kadm.Client
	base   []kgo.Opt
	parts  map[int32]*partition // owned events partitions, restored
	inputs map[string]map[int32]*inputPart
	curMax time.Time // highest event time of the input record being decoded

	mu      sync.Mutex
	pending []assignment // from the group callbacks, in order

	maxTime   time.Time // highest event time seen by this replica
	minTime   time.Time // lowest event time seen by this replica (learning starts)
	appliedWM time.Time // the watermark the engines were last advanced to
	lastEvent time.Time // processing time of the last event
	idleFrom  time.Time // watermark the idle clock started from

	ready    atomic.Bool
	lastPoll atomic.Int64 // unix nanos
	started  atomic.Bool

	b batch
}

type assignment struct {
	topic  string
	assign bool
	p      int32
}

// inputPart is what the replica knows of an assigned input partition: the
// highest event time read from it, and whether it is read to its end.
type inputPart struct {
	assigned time.Time
	max      time.Time
	next     int64     // offset after the last record read
	lastRead time.Time // processing time records last came
	seen     bool
	caughtUp bool
}

// quiet reports whether ip no longer holds the watermark back: it was read
// to its end (or never had a record) and nothing came for idle.
func (ip *inputPart) quiet(idle time.Duration) bool {
	if !ip.seen {
		return time.Since(ip.assigned) >= idle
	}
	return ip.caughtUp && time.Since(ip.lastRead) >= idle
}

// partition is the state of one owned partition of the events topic.
type partition struct {
	p       int32
	view    *state.View
	engines map[string]*processor.Engine // by route id
	dirty   map[string]bool              // engines whose clock moved in this batch
	lastCL  int64                        // changelog offset of the last record produced for p in this batch, -1 none
}

// batch is the work of one transaction.
type batch struct {
	produceErr error
	errMu      sync.Mutex
	alerts     []*schemas.Alert
	produced   int
}

// New checks cfg and returns a Service; Run connects.
func New(cfg Config, opt Options) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Metrics == nil {
		opt.Metrics = nopMetrics{}
	}
	dec, err := schemas.NewDecoder(cfg.Decode)
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, log: opt.Logger, met: opt.Metrics, extra: opt.ClientOpts, dec: dec,
		routes: map[string]*processor.Route{}, parts: map[int32]*partition{}, inputs: map[string]map[int32]*inputPart{}}
	s.cfg.Engine.ExternalWatermark = true
	s.order = processor.Routes(cfg.Rules)
	for _, rt := range s.order {
		s.routes[rt.ID] = rt
	}
	return s, nil
}

// Ready reports whether every assigned partition is restored (readiness).
func (s *Service) Ready() error {
	if !s.ready.Load() {
		return errors.New("restoring state or joining the group")
	}
	return nil
}

// Healthy reports whether the poll loop made progress lately (liveness).
func (s *Service) Healthy() error {
	if !s.started.Load() {
		return nil // starting: the startup probe covers it
	}
	last := time.Unix(0, s.lastPoll.Load())
	if d := time.Since(last); d > 2*time.Minute {
		return fmt.Errorf("poll loop stalled for %s", d.Round(time.Second))
	}
	return nil
}

// Run runs the service until ctx ends or a fatal error. On return the
// transaction in flight is ended and the store closed.
func (s *Service) Run(ctx context.Context) (err error) {
	base, err := ClientOpts(s.cfg.Brokers, s.cfg.TLS, s.cfg.SASL)
	if err != nil {
		return err
	}
	s.base = append(base, s.extra...)
	admCl, err := kgo.NewClient(s.base...)
	if err != nil {
		return err
	}
	defer admCl.Close()
	if err := Ping(ctx, admCl, s.cfg.Brokers, 30*time.Second); err != nil {
		return err
	}
	s.adm = kadm.NewClient(admCl)
	if _, err := ensureTopics(ctx, s.adm, s.cfg); err != nil {
		return err
	}

	sopts := s.cfg.State
	sopts.FlushEvery = 0 // write sets are applied after commit only
	sopts.Logger = s.log
	s.db, err = state.Open(s.cfg.StateDir, sopts)
	if err != nil {
		return fmt.Errorf("state-dir %s: %w", s.cfg.StateDir, err)
	}
	defer func() {
		if cerr := s.db.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	gcCtx, stopGC := context.WithCancel(context.Background())
	defer stopGC()
	go s.db.RunGC(gcCtx, 5*time.Minute)

	topics := append(s.cfg.Topics.Inputs(), s.cfg.Topics.Events)
	opts := append([]kgo.Opt{}, s.base...)
	opts = append(opts,
		kgo.ConsumerGroup(s.cfg.Group),
		kgo.ConsumeTopics(topics...),
		kgo.InstanceID(s.cfg.InstanceID),
		kgo.TransactionalID(s.cfg.Group+"-"+s.cfg.InstanceID),
		kgo.TransactionTimeout(s.cfg.TransactionTimeout),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.RequireStableFetchOffsets(),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.RecordPartitioner(partitioner{manual: s.cfg.Topics.Changelog, keyed: kgo.StickyKeyPartitioner(nil)}),
		kgo.ProducerBatchMaxBytes(4<<20),
		kgo.MaxBufferedRecords(1<<17),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { s.queue(true, m) }),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { s.queue(false, m) }),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { s.queue(false, m) }),
	)
	s.sess, err = kgo.NewGroupTransactSession(opts...)
	if err != nil {
		return err
	}
	defer s.sess.Close()
	s.log.Info("started", "group", s.cfg.Group, "instance", s.cfg.InstanceID, "inputs", s.cfg.Topics.Inputs(),
		"routes", len(s.order), "rules", len(s.cfg.Rules))
	s.started.Store(true)
	s.lastPoll.Store(time.Now().UnixNano())

	lastSize := time.Time{}
	for {
		if ctx.Err() != nil {
			s.log.Info("stopping", "reason", context.Cause(ctx))
			return nil
		}
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		fetches := s.sess.PollRecords(pctx, s.cfg.MaxPollRecords)
		cancel()
		s.lastPoll.Store(time.Now().UnixNano())
		if fetches.IsClientClosed() {
			return nil
		}
		fetches.EachError(func(t string, p int32, ferr error) {
			if !errors.Is(ferr, context.DeadlineExceeded) && !errors.Is(ferr, context.Canceled) {
				s.log.Warn("fetch error", "topic", t, "partition", p, "error", ferr)
			}
		})
		if err := s.applyAssignments(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if time.Since(lastSize) > 15*time.Second {
			lsm, vlog := s.db.Size()
			s.met.SetStateSize(lsm, vlog)
			lastSize = time.Now()
		}
		n := fetches.NumRecords()
		idle := n == 0 && s.idleDue()
		if n == 0 && !idle && !s.watermark(false).After(s.appliedWM) {
			continue
		}
		if err := s.transact(fetches, idle); err != nil {
			return err
		}
	}
}

// queue records an assignment change from a group callback; the poll loop
// applies it (restores happen there, never inside the callback).
func (s *Service) queue(assign bool, m map[string][]int32) {
	s.mu.Lock()
	for t, ps := range m {
		for _, p := range ps {
			s.pending = append(s.pending, assignment{t, assign, p})
		}
	}
	s.mu.Unlock()
	if assign && len(m[s.cfg.Topics.Events]) > 0 {
		s.ready.Store(false)
	}
}

// applyAssignments restores newly assigned partitions and forgets revoked
// ones, in the order the group told.
func (s *Service) applyAssignments(ctx context.Context) error {
	s.mu.Lock()
	pend := s.pending
	s.pending = nil
	s.mu.Unlock()
	for _, a := range pend {
		if a.topic != s.cfg.Topics.Events {
			if s.inputs[a.topic] == nil {
				s.inputs[a.topic] = map[int32]*inputPart{}
			}
			if a.assign {
				s.inputs[a.topic][a.p] = &inputPart{assigned: time.Now()}
			} else {
				delete(s.inputs[a.topic], a.p)
				s.met.DropPartition(a.topic, a.p)
			}
			continue
		}
		if !a.assign {
			if pt := s.parts[a.p]; pt != nil {
				pt.view.Discard()
				delete(s.parts, a.p)
				s.met.DropPartition(s.cfg.Topics.Events, a.p)
				s.log.Info("partition revoked", "partition", a.p)
			}
			continue
		}
		if s.parts[a.p] != nil {
			continue
		}
		start := time.Now()
		n, err := s.restore(ctx, a.p)
		if err != nil {
			return fmt.Errorf("restoring partition %d: %w", a.p, err)
		}
		s.parts[a.p] = &partition{p: a.p, view: s.db.Partition(a.p), engines: map[string]*processor.Engine{},
			dirty: map[string]bool{}, lastCL: -1}
		if err := s.openEngines(s.parts[a.p]); err != nil {
			return err
		}
		s.log.Info("partition restored", "partition", a.p, "changelog_records", n, "took", time.Since(start).Round(time.Millisecond))
	}
	s.mu.Lock()
	done := len(s.pending) == 0
	s.mu.Unlock()
	if done {
		s.ready.Store(true)
	}
	return nil
}

// openEngines (re)creates the engines of pt on its view, one per route, and
// takes their clocks into the replica's.
func (s *Service) openEngines(pt *partition) error {
	for _, rt := range s.order {
		en, err := processor.New(rt.Rules, prefixStore{s: pt.view, pre: "r" + rt.ID + "/"}, s.cfg.Engine, s.collect)
		if err != nil {
			return err
		}
		pt.engines[rt.ID] = en
		if wm := en.Watermark(); !wm.IsZero() {
			if t := wm.Add(s.cfg.Engine.AllowedLateness); t.After(s.maxTime) {
				s.maxTime = t
			}
		}
	}
	return nil
}

func (s *Service) collect(a *schemas.Alert) { s.b.alerts = append(s.b.alerts, a) }

// idleDue reports whether the replica has been without events long enough
// for its clock to run on processing time.
func (s *Service) idleDue() bool {
	if s.cfg.IdleAdvance <= 0 || s.maxTime.IsZero() || len(s.parts) == 0 {
		return false
	}
	return time.Since(s.lastEvent) >= s.cfg.IdleAdvance
}

// watermark is the replica's watermark, aligned over its input partitions
// as Flink aligns sources: the highest event time read from the slowest
// input partition, minus the allowed lateness — so a partition racing ahead
// does not make the others' events late. A partition read to its end that
// has been quiet for InputIdle (or never had a record) does not hold it
// back; when none holds it, it is the highest event time read. While the
// replica is idle it moves on by processing time.
func (s *Service) watermark(idle bool) time.Time {
	var lo, hi time.Time
	lagging := false
	for _, ps := range s.inputs {
		for _, ip := range ps {
			if ip.max.After(hi) {
				hi = ip.max
			}
			if ip.quiet(s.cfg.InputIdle) {
				continue
			}
			if !ip.seen {
				return time.Time{} // not heard from yet: hold
			}
			if !lagging || ip.max.Before(lo) {
				lo, lagging = ip.max, true
			}
		}
	}
	if !lagging {
		lo = hi
	}
	if lo.IsZero() {
		return time.Time{}
	}
	wm := lo.Add(-s.cfg.Engine.AllowedLateness)
	if idle {
		wm = wm.Add(time.Since(s.lastEvent) - s.cfg.IdleAdvance)
	}
	return wm
}

// transact processes one poll batch in one Kafka transaction.
func (s *Service) transact(fetches kgo.Fetches, idle bool) error {
	ctx := context.Background()
	if err := s.sess.Begin(); err != nil {
		return fmt.Errorf("beginning a transaction: %w", err)
	}
	s.b = batch{}
	for _, pt := range s.parts {
		pt.lastCL = -1
		clear(pt.dirty)
	}
	start := time.Now()
	abort := false
	var procErr error
	fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
		if abort {
			return
		}
		if len(fp.Records) == 0 {
			// An empty answer says nothing of where the consumer is (a
			// fetch may stop at its size limit), except for a partition
			// with no records at all, or one read up to its end.
			ip := s.inputs[fp.Topic][fp.Partition]
			if ip != nil && fp.Err == nil && ip.seen && ip.next >= fp.HighWatermark {
				ip.caughtUp = true
			}
			return
		}
		if fp.Topic == s.cfg.Topics.Events && s.parts[fp.Partition] == nil {
			// Revoked while polled: the session aborts this transaction.
			abort = true
			return
		}
		last := fp.Records[len(fp.Records)-1].Offset
		s.met.SetLag(fp.Topic, fp.Partition, max(fp.HighWatermark-last-1, 0))
		var ip *inputPart
		if fp.Topic != s.cfg.Topics.Events {
			if ip = s.inputs[fp.Topic][fp.Partition]; ip == nil {
				abort = true // revoked while polled
				return
			}
			ip.seen, ip.next, ip.caughtUp, ip.lastRead = true, last+1, last+1 >= fp.HighWatermark, time.Now()
		}
		for _, r := range fp.Records {
			var err error
			if fp.Topic == s.cfg.Topics.Events {
				err = s.processRouted(ctx, r)
			} else {
				s.curMax = time.Time{}
				s.processInput(ctx, r)
				if s.curMax.After(ip.max) {
					ip.max = s.curMax
				}
			}
			if err != nil {
				procErr = err
				abort = true
				return
			}
		}
		s.met.ProcessDuration(ctx, fp.Topic, time.Since(start).Seconds()/float64(max(len(fp.Records), 1)))
	})
	if !abort {
		wm := s.watermark(idle)
		if wm.After(s.appliedWM) {
			s.appliedWM = wm
		}
		for _, pt := range s.parts {
			for id, en := range pt.engines {
				before := en.Watermark()
				if err := en.Observe(s.minTime); err != nil {
					procErr, abort = err, true
				}
				if err := en.Advance(wm); err != nil {
					procErr, abort = err, true
				}
				if en.Watermark() != before {
					pt.dirty[id] = true
				}
			}
			s.met.SetWatermarkDelay(pt.p, time.Since(wm).Seconds())
		}
		s.produceAlerts(ctx)
		s.produceChangelog(ctx)
	}
	if procErr != nil {
		s.log.Error("processing failed; the batch is aborted and will be retried", "error", procErr)
	}
	commit := kgo.TryCommit
	if abort || s.produceFailed() {
		commit = kgo.TryAbort
	}
	ectx, cancel := context.WithTimeout(ctx, s.cfg.TransactionTimeout)
	committed, err := s.sess.End(ectx, commit)
	cancel()
	if err == nil && commit == kgo.TryCommit && s.produceFailed() {
		committed = false
	}
	s.met.Transaction(ctx, committed)
	if err != nil || !committed {
		s.rollback()
		if err != nil {
			return fmt.Errorf("ending a transaction: %w", err)
		}
		if procErr != nil {
			time.Sleep(time.Second) // a poison batch: do not spin
		}
		return nil
	}
	return s.afterCommit()
}

func (s *Service) produce(ctx context.Context, r *kgo.Record, onOK func(*kgo.Record)) {
	s.b.produced++
	s.sess.Produce(ctx, r, func(r *kgo.Record, err error) {
		if err != nil {
			s.b.errMu.Lock()
			if s.b.produceErr == nil {
				s.b.produceErr = err
			}
			s.b.errMu.Unlock()
			return
		}
		if onOK != nil {
			onOK(r)
		}
	})
}

func (s *Service) produceFailed() bool {
	s.b.errMu.Lock()
	defer s.b.errMu.Unlock()
	if s.b.produceErr != nil {
		s.log.Error("produce failed; the batch is aborted and will be retried", "error", s.b.produceErr)
	}
	return s.b.produceErr != nil
}

// processInput decodes an input record, dead-letters what is bad and routes
// each event to the partitions of its route keys.
func (s *Service) processInput(ctx context.Context, r *kgo.Record) {
	idx := 0
	s.dec.Decode(r.Value, schemas.Origin{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}, func(rec schemas.Record) {
		defer func() { idx++ }()
		switch rec.Status {
		case schemas.StatusEvent:
			e := rec.Event
			if e.Timestamp.After(s.curMax) {
				s.curMax = e.Timestamp
			}
			s.met.Consumed(ctx, r.Topic, e.Dataset, 1)
			for _, rt := range s.order {
				if !rt.Wants(e) {
					continue
				}
				key, ok := rt.Key(e)
				if !ok {
					continue
				}
				s.produce(ctx, eventRecord(s.cfg.Topics.Events, rt, key, e), nil)
			}
		case schemas.StatusMalformed:
			reason, detail := schemas.ReasonUnknownShape, ""
			var me *schemas.MalformedError
			if errors.As(rec.Err, &me) {
				reason, detail = me.Reason, me.Detail
			}
			s.met.Consumed(ctx, r.Topic, "malformed", 1)
			s.met.DeadLettered(ctx, reason, 1)
			s.produce(ctx, dlqRecord(s.cfg.Topics.DLQ, r, idx, reason, detail), nil)
		default:
			s.met.Consumed(ctx, r.Topic, rec.Status.String(), 1)
		}
	})
}

// processRouted runs the engine of a routed event's route on its partition.
func (s *Service) processRouted(ctx context.Context, r *kgo.Record) error {
	pt := s.parts[r.Partition]
	h, ok := parseRouted(r)
	rt := s.routes[h.route]
	if !ok || rt == nil {
		// Written by another version of the rules (a route that no longer
		// exists) or not by bedrockwatch: nothing of ours can take it.
		s.met.DeadLettered(ctx, "unroutable", 1)
		s.produce(ctx, dlqRecord(s.cfg.Topics.DLQ, r, 0, "unroutable", "route "+h.route+" is not in the rules in force"), nil)
		return nil
	}
	var ev *schemas.Event
	s.dec.Decode(r.Value, h.origin, func(rec schemas.Record) {
		if rec.Status == schemas.StatusEvent && ev == nil {
			ev = rec.Event
		}
	})
	if ev == nil {
		s.met.DeadLettered(ctx, "undecodable_routed", 1)
		s.produce(ctx, dlqRecord(s.cfg.Topics.DLQ, r, 0, "undecodable_routed", "a routed event no longer decodes"), nil)
		return nil
	}
	ev.Timestamp, ev.ID, ev.Origin = h.time, h.id, h.origin
	if h.dataset != "" {
		ev.Dataset = h.dataset
	}
	en := pt.engines[rt.ID]
	late := en.Late()
	if err := en.Process(ev); err != nil {
		return err
	}
	if d := en.Late() - late; d > 0 {
		s.met.Late(ctx, d)
	}
	pt.dirty[rt.ID] = true
	if ev.Timestamp.After(s.maxTime) {
		s.maxTime = ev.Timestamp
	}
	if s.minTime.IsZero() || ev.Timestamp.Before(s.minTime) {
		s.minTime = ev.Timestamp
	}
	s.lastEvent = time.Now()
	return nil
}

func (s *Service) produceAlerts(ctx context.Context) {
	for _, a := range s.b.alerts {
		rec, err := alertRecord(s.cfg.Topics.Alerts, a)
		if err != nil {
			s.b.errMu.Lock()
			s.b.produceErr = err
			s.b.errMu.Unlock()
			return
		}
		rule, sev, t := a.Rule.ID, a.Rule.Severity, a.Time
		s.produce(ctx, rec, func(*kgo.Record) {
			s.met.Alert(ctx, rule, sev)
			s.met.EventToAlert(ctx, rule, time.Since(t).Seconds())
		})
	}
}

// produceChangelog checkpoints the clocks of the engines that moved and
// writes every pending change of every partition to the changelog.
func (s *Service) produceChangelog(ctx context.Context) {
	for _, pt := range s.parts {
		for id := range pt.dirty {
			if err := pt.engines[id].Checkpoint(); err != nil {
				s.b.errMu.Lock()
				s.b.produceErr = err
				s.b.errMu.Unlock()
				return
			}
		}
		ws := pt.view.WriteSet()
		if ws.Len() == 0 {
			continue
		}
		var mu sync.Mutex
		pt := pt
		ws.Range(func(key string, value []byte, deleted bool) bool {
			s.produce(ctx, changelogRecord(s.cfg.Topics.Changelog, pt.p, key, value, deleted), func(r *kgo.Record) {
				mu.Lock()
				if r.Offset > pt.lastCL {
					pt.lastCL = r.Offset
				}
				mu.Unlock()
			})
			return true
		})
	}
}

// afterCommit applies the committed write sets and checkpoints to Badger.
func (s *Service) afterCommit() error {
	for _, pt := range s.parts {
		if pt.view.WriteSet().Len() == 0 && pt.lastCL < 0 {
			continue
		}
		cp := state.Checkpoint{ChangelogOffset: pt.lastCL, Watermark: s.watermark(false)}
		if pt.lastCL < 0 {
			old, ok, err := pt.view.ReadCheckpoint()
			if err != nil {
				return err
			}
			if ok {
				cp.ChangelogOffset = old.ChangelogOffset
			}
		}
		if err := pt.view.WriteCheckpoint(cp); err != nil {
			return fmt.Errorf("partition %d: applying committed state: %w", pt.p, err)
		}
	}
	return nil
}

// rollback drops the batch's pending state and reopens the engines on what
// Badger holds, so that their clocks forget the batch too.
func (s *Service) rollback() {
	for _, pt := range s.parts {
		pt.view.Discard()
		if err := s.openEngines(pt); err != nil {
			s.log.Error("reopening engines", "partition", pt.p, "error", err)
		}
	}
	s.maxTime, s.appliedWM = time.Time{}, time.Time{}
	for _, pt := range s.parts {
		for _, en := range pt.engines {
			if wm := en.Watermark(); !wm.IsZero() {
				if t := wm.Add(s.cfg.Engine.AllowedLateness); t.After(s.maxTime) {
					s.maxTime = t
				}
			}
		}
	}
}

type nopMetrics struct{}

func (nopMetrics) Consumed(context.Context, string, string, int64)  {}
func (nopMetrics) DeadLettered(context.Context, string, int64)      {}
func (nopMetrics) Late(context.Context, int64)                      {}
func (nopMetrics) Alert(context.Context, string, string)            {}
func (nopMetrics) ProcessDuration(context.Context, string, float64) {}
func (nopMetrics) EventToAlert(context.Context, string, float64)    {}
func (nopMetrics) SetLag(string, int32, int64)                      {}
func (nopMetrics) DropPartition(string, int32)                      {}
func (nopMetrics) SetWatermarkDelay(int32, float64)                 {}
func (nopMetrics) SetRestore(int32, int64)                          {}
func (nopMetrics) SetStateSize(int64, int64)                        {}
func (nopMetrics) Transaction(context.Context, bool)                {}
