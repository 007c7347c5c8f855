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
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

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
	DropStatePartition(partition int32)
	SetWatermarkDelay(partition int32, seconds float64)
	SetRestore(partition int32, remaining int64)
	SetStateSize(lsm, vlog int64)
	Transaction(ctx context.Context, committed bool)
}

// Options carries what a Service reports to.
type Options struct {
	Logger  *slog.Logger
	Metrics Metrics
	// ClientOpts are added to every Kafka client: franz-go's kotel hooks,
	// which carry W3C trace context in record headers.
	ClientOpts []kgo.Opt
	// TracerProvider makes the service's own spans: one per input batch,
	// and one per alert linked to the spans of the events that raised it
	// (nil: none).
	TracerProvider trace.TracerProvider
}

// Service is one replica of the consumer group.
type Service struct {
	cfg    Config
	log    *slog.Logger
	met    Metrics
	tracer trace.Tracer
	traced bool      // a TracerProvider was given
	spans  spanIndex // trace context of recent routed events, by event id
	extra  []kgo.Opt
	routes map[string]*processor.Route
	order  []*processor.Route
	dec    *schemas.Decoder

	db     *state.Badger
	sess   *kgo.GroupTransactSession
	adm    *kadm.Client
	base   []kgo.Opt
	parts  map[int32]*partition // owned events partitions, restored
	warm   map[int32]time.Time  // revoked events partitions whose local state is kept: since when
	inputs map[string]map[int32]*inputPart
	curMax time.Time // highest event time of the input record being decoded

	mu      sync.Mutex
	pending []assignment // from the group callbacks, in order

	maxTime   time.Time // highest event time seen by this replica
	minTime   time.Time // lowest event time seen by this replica (learning starts)
	appliedWM time.Time // the watermark the engines were last advanced to
	// The events this replica routed hold the watermark until processed:
	// routedTo is, per events partition, the offset of the last one
	// committed; wmPending the watermark its inputs allowed at the last
	// commit, which the engines take once those events are processed here.
	routedTo  map[int32]int64
	wmPending time.Time
	lastEvent time.Time // processing time of the last event
	idleFrom  time.Time // watermark the idle clock started from

	aborts int // consecutive transactions aborted for a failed produce

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
	inputRead
	// committed is what was read as of the last commit. An aborted
	// transaction rewinds the partition to its committed offset, and
	// rollback rewinds inputRead to this with it: an event time read in
	// the aborted batch must not move the watermark before its record is
	// read again, or the events it routes then are late.
	committed inputRead
	// nothingToRead: never read from, and checkUnread found the group's committed
	// offset at the partition's end; checked is when it last looked.
	nothingToRead bool
	checked       time.Time
}

// inputRead is how far an input partition has been read.
type inputRead struct {
	max      time.Time // highest event time read
	next     int64     // offset after the last record read
	lastRead time.Time // processing time records with events last came
	seen     bool
	caughtUp bool
}

// quiet reports whether ip no longer holds the watermark back: it was read
// to its end (or has nothing to read) and nothing came for idle. A
// partition not read from yet that has records waiting — after a restart
// with a backlog, the partitions the first polls do not reach — holds it
// until it is read, or its events would all be late.
func (ip *inputPart) quiet(idle time.Duration) bool {
	if !ip.seen {
		return ip.nothingToRead && time.Since(ip.assigned) >= idle
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
	read    int64                        // offset of the last record processed, -1 none
	readOK  int64                        // read as of the last commit
}

// batch is the work of one transaction.
type batch struct {
	produceErr error
	errMu      sync.Mutex
	alerts     []*schemas.Alert
	produced   int
	routed     map[int32]int64 // events partition: offset of the last event routed (errMu)
	wmCand     time.Time       // the watermark the inputs allow, pending at commit
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
	traced := opt.TracerProvider != nil
	if !traced {
		opt.TracerProvider = noop.NewTracerProvider()
	}
	dec, err := schemas.NewDecoder(cfg.Decode)
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, log: opt.Logger, met: opt.Metrics, extra: opt.ClientOpts, dec: dec,
		tracer: opt.TracerProvider.Tracer(tracerName), traced: traced, spans: newSpanIndex(spanIndexSize),
		routes: map[string]*processor.Route{}, parts: map[int32]*partition{}, warm: map[int32]time.Time{}, inputs: map[string]map[int32]*inputPart{}}
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
		kgo.ProducerBatchMaxBytesFn(batchMaxBytes(s.cfg)),
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
	// Initialise the transactional id now, before the first restore: the
	// broker aborts the transaction a previous run of this replica died
	// in, which would otherwise hold the changelog's last stable offset,
	// and the restores wait for it (changelogEnd), until the transaction
	// timeout. Not fatal: the first transaction initialises it anyway.
	if _, _, err := s.sess.Client().ProducerID(ctx); err != nil && ctx.Err() == nil {
		s.log.Warn("initialising the transactional producer", "error", err)
	}
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
		if err := s.expireWarm(); err != nil {
			return err
		}
		if time.Since(lastSize) > 15*time.Second {
			lsm, vlog := s.db.Size()
			s.met.SetStateSize(lsm, vlog)
			lastSize = time.Now()
		}
		s.noteEmpty(fetches)
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
				delete(s.routedTo, a.p)
				s.met.DropPartition(s.cfg.Topics.Events, a.p)
				s.met.DropStatePartition(a.p)
				s.warm[a.p] = time.Now()
				s.log.Info("partition revoked; its local state is kept as a warm cache", "partition", a.p, "for", s.cfg.WarmCacheTTL)
			}
			continue
		}
		if s.parts[a.p] != nil {
			continue
		}
		delete(s.warm, a.p)
		start := time.Now()
		n, err := s.restore(ctx, a.p)
		if err != nil {
			return fmt.Errorf("restoring partition %d: %w", a.p, err)
		}
		s.parts[a.p] = &partition{p: a.p, view: s.db.Partition(a.p), engines: map[string]*processor.Engine{},
			dirty: map[string]bool{}, lastCL: -1, read: -1, readOK: -1}
		delete(s.routedTo, a.p) // whoever had p processed what was routed to it before
		if err := s.openEngines(s.parts[a.p]); err != nil {
			return err
		}
		s.log.Info("partition restored", "partition", a.p, "changelog_records", n, "took", time.Since(start).Round(time.Millisecond))
	}
	s.checkUnread(ctx)
	s.mu.Lock()
	done := len(s.pending) == 0
	s.mu.Unlock()
	if done {
		s.ready.Store(true)
	}
	return nil
}

// checkUnread looks, at most every InputIdle, at the input partitions
// assigned for InputIdle or more and not read from yet, and marks those
// with nothing to read: the group's committed offset (or the log start)
// is at the end. On an error they stay unmarked, holding the watermark,
// and are looked at again later.
func (s *Service) checkUnread(ctx context.Context) {
	every := max(s.cfg.InputIdle, 250*time.Millisecond)
	var topics []string
	for t, ps := range s.inputs {
		for _, ip := range ps {
			if !ip.seen && !ip.nothingToRead && time.Since(ip.assigned) >= s.cfg.InputIdle && time.Since(ip.checked) >= every {
				topics = append(topics, t)
				break
			}
		}
	}
	if len(topics) == 0 {
		return
	}
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	starts, err1 := s.adm.ListStartOffsets(lctx, topics...)
	ends, err2 := s.adm.ListEndOffsets(lctx, topics...)
	committed, err3 := s.adm.FetchOffsets(kadm.RequireStable(lctx), s.cfg.Group)
	now := time.Now()
	for _, t := range topics {
		for p, ip := range s.inputs[t] {
			if ip.seen || ip.nothingToRead {
				continue
			}
			ip.checked = now
			if err := errors.Join(err1, err2, err3); err != nil {
				s.log.Warn("checking input partitions for records", "topic", t, "partition", p, "error", err)
				continue
			}
			so, ok1 := starts.Lookup(t, p)
			eo, ok2 := ends.Lookup(t, p)
			if !ok1 || !ok2 || so.Err != nil || eo.Err != nil {
				continue
			}
			from := so.Offset
			if c, ok := committed.Lookup(t, p); ok && c.Err == nil && c.At > from {
				from = c.At
			}
			ip.nothingToRead = from >= eo.Offset
		}
	}
}

// expireWarm drops the local state of partitions revoked more than
// WarmCacheTTL ago: another replica owns them now, and should one come
// back, it restores from the changelog in full instead of from the tail.
func (s *Service) expireWarm() error {
	for p, since := range s.warm {
		if time.Since(since) < s.cfg.WarmCacheTTL {
			continue
		}
		if err := s.db.DropPartition(p); err != nil {
			return err
		}
		delete(s.warm, p)
		s.log.Info("dropped the warm cache of a revoked partition", "partition", p, "revoked", time.Since(since).Round(time.Second))
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

// noteEmpty takes what the partitions answered without records say: an
// input partition read up to its end is caught up, and an owned partition
// has nothing readable at the position (past the last record of a
// transaction is only its commit marker, which the high watermark counts):
// its lag is 0. An empty answer says nothing more of where the consumer is.
func (s *Service) noteEmpty(fetches kgo.Fetches) {
	fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
		if len(fp.Records) > 0 || fp.Err != nil {
			return
		}
		ip := s.inputs[fp.Topic][fp.Partition]
		if ip != nil && ip.seen && ip.next >= fp.HighWatermark {
			ip.caughtUp = true
		}
		if ip != nil || (fp.Topic == s.cfg.Topics.Events && s.parts[fp.Partition] != nil) {
			s.met.SetLag(fp.Topic, fp.Partition, 0)
		}
	})
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
			return // noteEmpty saw it
		}
		if fp.Topic == s.cfg.Topics.Events && s.parts[fp.Partition] == nil {
			// Revoked while polled: the session aborts this transaction.
			abort = true
			return
		}
		lastRec := fp.Records[len(fp.Records)-1]
		last := lastRec.Offset
		lag := fp.HighWatermark - last - 1
		if lastRec.Attrs.IsTransactional() {
			lag-- // its transaction's commit marker follows it: not a record to read
		}
		s.met.SetLag(fp.Topic, fp.Partition, max(lag, 0))
		var ip *inputPart
		if fp.Topic != s.cfg.Topics.Events {
			if ip = s.inputs[fp.Topic][fp.Partition]; ip == nil {
				abort = true // revoked while polled
				return
			}
			ip.seen, ip.next, ip.caughtUp = true, last+1, last+1 >= fp.HighWatermark
		}
		bctx, span := s.batchSpan(ctx, fp)
		defer span.End()
		for _, r := range fp.Records {
			var err error
			if fp.Topic == s.cfg.Topics.Events {
				err = s.processRouted(bctx, r)
			} else {
				s.curMax = time.Time{}
				s.processInput(bctx, r)
				if s.curMax.After(ip.max) {
					ip.max = s.curMax
				}
				if !s.curMax.IsZero() {
					// Only records that carry events are activity: a
					// partition of CloudTrail from other services alone
					// must not hold the watermark back for ever.
					ip.lastRead = time.Now()
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
		// The engines take the watermark the inputs allowed at the last
		// commit once the events routed until then are processed here:
		// with a backlog the inputs are read far ahead of the events
		// topic, and events routed but not processed would be late.
		s.b.wmCand = s.watermark(idle)
		wm := s.appliedWM
		if s.routedProcessed() && s.wmPending.After(wm) {
			wm = s.wmPending
		}
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
	ectx, cancel := context.WithTimeout(ctx, s.cfg.TransactionTimeout)
	commit := kgo.TryCommit
	// Decide only once every record has answered: End(TryCommit) commits
	// whatever the brokers acknowledged, so a record failing during End's
	// own flush would be lost with the input offsets committed past it.
	if abort || s.sess.Client().Flush(ectx) != nil || s.produceFailed() {
		commit = kgo.TryAbort
	}
	committed, err := s.sess.End(ectx, commit)
	cancel()
	if err == nil && commit == kgo.TryCommit && s.produceFailed() {
		committed = false
	}
	s.met.Transaction(ctx, committed)
	if err == nil && committed {
		for _, a := range s.b.alerts { // counted once committed, never for an aborted batch
			s.met.Alert(ctx, a.Rule.ID, a.Rule.Severity)
			s.met.EventToAlert(ctx, a.Rule.ID, time.Since(a.Time).Seconds())
		}
	}
	if err != nil || !committed {
		s.rollback()
		if err != nil {
			return fmt.Errorf("ending a transaction: %w", err)
		}
		if procErr != nil {
			time.Sleep(time.Second) // a poison batch: do not spin
		} else {
			// A produce the brokers refused: back off, doubling from
			// 50 ms to 5 s over consecutive aborts, so that a broker in
			// trouble is not hammered with retried batches.
			s.aborts++
			time.Sleep(min(50*time.Millisecond<<min(s.aborts-1, 7), 5*time.Second))
		}
		return nil
	}
	s.aborts = 0
	s.wmPending = s.b.wmCand
	for p, off := range s.b.routed {
		if s.routedTo == nil {
			s.routedTo = map[int32]int64{}
		}
		if o, ok := s.routedTo[p]; !ok || off > o {
			s.routedTo[p] = off
		}
	}
	for _, pt := range s.parts {
		pt.readOK = pt.read
	}
	for _, ps := range s.inputs {
		for _, ip := range ps {
			ip.committed = ip.inputRead
		}
	}
	return s.afterCommit()
}

// noteRouted records the offset of a routed event produced in this batch.
func (s *Service) noteRouted(r *kgo.Record) {
	s.b.errMu.Lock()
	defer s.b.errMu.Unlock()
	if s.b.routed == nil {
		s.b.routed = map[int32]int64{}
	}
	if o, ok := s.b.routed[r.Partition]; !ok || r.Offset > o {
		s.b.routed[r.Partition] = r.Offset
	}
}

// routedProcessed reports whether every event this replica routed to a
// partition it owns, in committed transactions, has been processed.
func (s *Service) routedProcessed() bool {
	for p, off := range s.routedTo {
		if pt := s.parts[p]; pt != nil && pt.read < off {
			return false
		}
	}
	return true
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
	rctx := ctx
	if r.Context != nil {
		rctx = r.Context // the record's trace context (kotel): the routed records continue it
	}
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
				s.produce(rctx, eventRecord(s.cfg.Topics.Events, rt, key, e), s.noteRouted)
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
	pt.read = r.Offset
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
	if s.traced && r.Context != nil {
		if sc := trace.SpanContextFromContext(r.Context); sc.IsValid() {
			s.spans.put(h.id, sc)
		}
	}
	if h.dataset != "" {
		ev.Dataset = h.dataset
	}
	en := pt.engines[rt.ID]
	late := en.Late()
	if err := en.Process(ev); err != nil {
		return err
	}
	if d := en.Late() - late; d > 0 {
		// Late: evaluated against the state that remained (first-seen
		// is order-insensitive), counted, and a copy goes to the DLQ so
		// that what windowed rules could not see is not lost silently.
		s.met.Late(ctx, d)
		s.met.DeadLettered(ctx, ReasonLate, 1)
		s.produce(ctx, lateRecord(s.cfg.Topics.DLQ, r, h, rt.ID, en.Watermark()), nil)
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
		actx, span := s.alertSpan(ctx, a)
		s.produce(actx, rec, nil)
		span.End()
	}
}

// produceChangelog checkpoints the clocks of the engines that moved, has
// every other engine write the state it keeps pending too (Sync: only an
// engine that processed or moved has some), and writes every pending change
// of every partition to the changelog.
func (s *Service) produceChangelog(ctx context.Context) {
	for _, pt := range s.parts {
		for id, en := range pt.engines {
			sync := en.Sync
			if pt.dirty[id] {
				sync = en.Checkpoint
			}
			if err := sync(); err != nil {
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
// Badger holds, so that their clocks forget the batch too; and takes the
// input partitions back to what was read as of the last commit, where the
// session rewinds them, so that the watermark forgets the batch as well.
func (s *Service) rollback() {
	for _, pt := range s.parts {
		pt.read = pt.readOK
		pt.view.Discard()
		if err := s.openEngines(pt); err != nil {
			s.log.Error("reopening engines", "partition", pt.p, "error", err)
		}
	}
	for _, ps := range s.inputs {
		for _, ip := range ps {
			ip.inputRead = ip.committed
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
func (nopMetrics) DropStatePartition(int32)                         {}
func (nopMetrics) SetWatermarkDelay(int32, float64)                 {}
func (nopMetrics) SetRestore(int32, int64)                          {}
func (nopMetrics) SetStateSize(int64, int64)                        {}
func (nopMetrics) Transaction(context.Context, bool)                {}
