package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bedrockwatch/bedrockwatch/bench"
	"github.com/bedrockwatch/bedrockwatch/processor"
	"github.com/bedrockwatch/bedrockwatch/processor/rules"
	"github.com/bedrockwatch/bedrockwatch/service"
)

const benchHelp = `
Bench measures bedrockwatch on generated traffic, every number side by side
in one run (these machines are shared and noisy: compare ratios, not runs):

  1. produce  a backlog of realistic traffic to the input topics — CloudTrail
              records (~1.5 KB, many AWS services, --bedrock-share of them
              Bedrock's) keyed by access key, with --keys keys drawn with a
              Zipf law; Bedrock model-invocation logs (--invocation-share of
              the CloudTrail volume, prompts of realistic sizes up to
              --max-prompt-kb); endpoint process events; and LLMjacking
              attacks injected at known points (a long-term AKIA key lists
              the foundation models, then invokes one within 15 minutes;
              some also delete the invocation logging configuration and a
              guardrail; decoys do the same with temporary ASIA keys). The
              producer's own rate is reported.
  2. (a)      the raw consume ceiling: a franz-go consumer group that reads
              the backlog and discards it, --ceiling-runs times; the median
              read counts.
  3. (b)      bedrockwatch end to end, exactly-once, in this process
              (--replicas members of one group), from its start until its
              group has committed every input record and every routed event
              it produced from them; (c) b/a of the steady rates; then (d)
              event-to-alert latency while traffic is produced at 50% of the
              rate it sustained (attacks --latency-attacks-per-million, so
              that there are enough to make a p99): from the produce call of
              an attack's record to the read_committed arrival of its alert;
              (e) CPU seconds per million records; (f) peak RSS and Badger
              size.
  4. expect   (g) the alerts the traffic must raise, computed after the
              service stopped by replaying the same records (generated again
              from --seed) through the real engine: expected vs received,
              duplicates and lost, by rule.

Without --brokers an embedded Kafka-protocol broker (franz-go's kfake) runs
in this process on 127.0.0.1: CPU time and RSS are then the whole process's,
broker included; the RSS held when (b) starts (mostly the backlog, held by
the broker) and the peak while (a) ran (broker plus a consumer) are printed
beside the peak of (b). With --brokers, topics and groups get a unique
--topic-prefix so that earlier runs do not count.

--duration is the wall time spent producing: two thirds for the backlog (or
--records records; at most --max-backlog-mb), one third for the paced
latency phase. A 60 s run takes two to four minutes on 2 cores, most of it
(b) and the replay of (g); the backlog is capped first.

Prints a table on standard output and a progress line every 2 seconds on
standard error; --json FILE writes every number. While the service cannot
run, (b) to (f) are reported unavailable with its error.

Examples:
  bedrockwatch bench --duration 60s
  bedrockwatch bench --records 2000000 --keys 1000000 --json bench.json
  bedrockwatch bench --brokers kafka-0:9092 --partitions 12 --replicas 3`

type benchFlags struct {
	config          string
	brokers         listFlag
	duration        time.Duration
	records         int64
	maxBacklogMB    int64
	partitions      int
	replicas        int
	seed            uint64
	keys            int
	zipfS           float64
	longTermShare   float64
	bedrockShare    float64
	invocationShare float64
	endpointShare   float64
	maxPromptKB     int
	eventRate       float64
	attacks         float64
	latencyAttacks  float64
	ceilingRuns     int
	compression     string
	topicPrefix     string
	timeout         time.Duration
	jsonFile        string
	cpuProfile      string
	memProfile      string
	ceilingProfile  string
	throughputOnly  bool
	// Service settings to try (zero: the service's defaults).
	maxPollRecords int
	stateMemMB     int
	stateTableKB   int
	stateCacheMB   int
	svcCompression string
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, mix, err := parseBenchFlags(args, stderr)
	if err != nil {
		return err
	}
	rep, err := benchmark(ctx, f, mix, stderr)
	if err != nil {
		return err
	}
	printBench(stdout, rep)
	if f.jsonFile != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(f.jsonFile, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("--json: %w", err)
		}
	}
	return nil
}

func parseBenchFlags(args []string, stderr io.Writer) (*benchFlags, bench.Mix, error) {
	m := bench.DefaultMix()
	f := &benchFlags{duration: 60 * time.Second, maxBacklogMB: 2048, partitions: 6, replicas: 1, seed: 1,
		compression: bench.DefaultProducerConfig().Compression, timeout: 10 * time.Minute}
	fs := newFlagSet("bench", "bench [flags]", benchHelp, stderr)
	fs.StringVar(&f.config, "config", "", "YAML file of settings (keys are flag names)")
	fs.Var(&f.brokers, "brokers", "comma-separated Kafka bootstrap brokers (empty: an embedded broker on 127.0.0.1)")
	fs.DurationVar(&f.duration, "duration", f.duration, "wall time spent producing: 2/3 backlog, 1/3 paced latency phase")
	fs.Int64Var(&f.records, "records", 0, "records of the backlog instead of 2/3 of --duration")
	fs.Int64Var(&f.maxBacklogMB, "max-backlog-mb", f.maxBacklogMB, "largest backlog, in MB of keys and values (the embedded broker holds it in memory)")
	fs.IntVar(&f.partitions, "partitions", f.partitions, "partitions of each topic")
	fs.IntVar(&f.replicas, "replicas", f.replicas, "service replicas (group members) run in this process for (b)")
	fs.Uint64Var(&f.seed, "seed", f.seed, "seed of the traffic: the same seed gives the same records")
	fs.IntVar(&f.keys, "keys", m.Keys, "distinct access keys")
	fs.Float64Var(&f.zipfS, "zipf-s", m.ZipfS, "exponent (> 1) of the Zipf law that picks the key of each record")
	fs.Float64Var(&f.longTermShare, "long-term-share", m.LongTermShare, "share of keys that are long-term IAM user keys (AKIA…)")
	fs.Float64Var(&f.bedrockShare, "bedrock-share", m.BedrockShare, "share of CloudTrail records from bedrock.amazonaws.com")
	fs.Float64Var(&f.invocationShare, "invocation-share", m.InvocationShare, "invocation-log records per CloudTrail record")
	fs.Float64Var(&f.endpointShare, "endpoint-share", m.EndpointShare, "endpoint events per CloudTrail record")
	fs.IntVar(&f.maxPromptKB, "max-prompt-kb", m.MaxPromptBytes>>10, fmt.Sprintf("largest prompt in KB (at most %d, about 200k tokens)", bench.MaxPromptLimit>>10))
	fs.Float64Var(&f.eventRate, "event-rate", m.EventRate, "records per second of event time (the traffic's clock)")
	fs.Float64Var(&f.attacks, "attacks-per-million", m.AttacksPerMillion, "LLMjacking attacks started per million records")
	fs.Float64Var(&f.latencyAttacks, "latency-attacks-per-million", 2000, "attacks started per million records in the paced latency phase (with gaps of at most a minute)")
	fs.IntVar(&f.ceilingRuns, "ceiling-runs", 3, "reads of the backlog for (a); the median counts")
	fs.StringVar(&f.compression, "compression", f.compression, "producer compression: none, snappy, lz4 or zstd")
	fs.StringVar(&f.topicPrefix, "topic-prefix", "", "prefix of every topic and group name (default with --brokers: bench-<time>-)")
	fs.DurationVar(&f.timeout, "timeout", f.timeout, "longest wait for the service to consume the backlog")
	fs.StringVar(&f.jsonFile, "json", "", "write the results as JSON to this file")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of (b)'s throughput phase (start to backlog committed) to this file; samples carry the label who=broker|service|bench")
	fs.StringVar(&f.memProfile, "memprofile", "", "write an allocation profile at the end of (b)'s throughput phase to this file, and one at its start to FILE.base (go tool pprof -sample_index=alloc_space -base FILE.base FILE)")
	fs.BoolVar(&f.throughputOnly, "throughput-only", false, "stop after (b)'s throughput phase: no latency phase (d), no alert check (g)")
	fs.IntVar(&f.maxPollRecords, "max-poll-records", 0, "experiment: the service's max-poll-records (0: its default)")
	fs.IntVar(&f.stateMemMB, "state-memtable-mb", 0, "experiment: the service's Badger memtable size in MiB (0: its default)")
	fs.IntVar(&f.stateTableKB, "state-table-kb", 0, "experiment: the service's Badger table size in KiB (0: its default)")
	fs.IntVar(&f.stateCacheMB, "state-block-cache-mb", 0, "experiment: the service's Badger block cache in MiB (0: its default)")
	fs.StringVar(&f.svcCompression, "service-compression", "", "experiment: compression of what the service produces (events, changelog, alerts): none, snappy, lz4 or zstd (empty: franz-go's default, snappy)")
	fs.StringVar(&f.ceilingProfile, "ceiling-cpuprofile", "", "write a CPU profile of the (a) ceiling reads to this file (labels as --cpuprofile, the consumer's who=ceiling)")
	if err := parseFlags(fs, args); err != nil {
		return nil, m, err
	}
	if fs.NArg() > 0 {
		return nil, m, usagef("bench takes no arguments, got %q", fs.Args())
	}
	m.Keys, m.ZipfS, m.LongTermShare = f.keys, f.zipfS, f.longTermShare
	m.BedrockShare, m.InvocationShare, m.EndpointShare = f.bedrockShare, f.invocationShare, f.endpointShare
	m.MaxPromptBytes, m.EventRate, m.AttacksPerMillion = f.maxPromptKB<<10, f.eventRate, f.attacks
	var errs []error
	if err := m.Validate(); err != nil {
		errs = append(errs, err)
	}
	if f.duration <= 0 {
		errs = append(errs, fmt.Errorf("duration must be positive, got %s", f.duration))
	}
	if f.records < 0 || f.maxBacklogMB < 1 {
		errs = append(errs, errors.New("records must not be negative and max-backlog-mb must be positive"))
	}
	if f.partitions < 1 || f.replicas < 1 || f.ceilingRuns < 1 {
		errs = append(errs, fmt.Errorf("partitions, replicas and ceiling-runs must be positive, got %d, %d and %d", f.partitions, f.replicas, f.ceilingRuns))
	}
	pc := bench.DefaultProducerConfig()
	pc.Compression = f.compression
	if _, err := pc.Opts(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, m, usagef("%v", err)
	}
	if len(f.brokers) > 0 && !flagSet(fs, "topic-prefix") {
		f.topicPrefix = fmt.Sprintf("bench-%d-", time.Now().Unix())
	}
	return f, m, nil
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// benchReport is everything bench measured; it is the JSON of --json.
type benchReport struct {
	Machine struct {
		OS, Arch   string
		CPUs       int `json:"cpus"`
		GOMAXPROCS int `json:"gomaxprocs"`
		GoVersion  string
		Broker     string `json:"broker"` // "embedded kfake" or the bootstrap brokers
	} `json:"machine"`
	Config struct {
		Seed        uint64        `json:"seed"`
		Partitions  int           `json:"partitions"`
		Replicas    int           `json:"replicas"`
		Compression string        `json:"compression"`
		Duration    time.Duration `json:"duration_ns"`
		Mix         bench.Mix     `json:"mix"`
	} `json:"config"`
	Traffic  trafficReport `json:"traffic"`
	Producer rateReport    `json:"producer"`
	// Ceiling is the median of CeilingRuns by steady rate.
	Ceiling     rateReport   `json:"ceiling"`
	CeilingRuns []rateReport `json:"ceiling_runs"`
	// CeilingPeakRSS is the peak RSS while the ceiling ran: the broker
	// holding the backlog plus a consumer, the reference for (f).
	CeilingPeakRSS int64 `json:"ceiling_peak_rss_bytes"`
	// Expected describes the replay that computed the expected alerts:
	// Alerts and ByRule are the backlog's; Records and Seconds the whole
	// replay's (backlog and paced phase).
	Expected struct {
		Alerts  int              `json:"backlog_alerts"`
		ByRule  map[string]int64 `json:"backlog_by_rule"`
		Records int64            `json:"records"`
		Seconds float64          `json:"seconds"`
	} `json:"expected"`
	EndToEnd e2eResult `json:"end_to_end"`
	// Ratio is (b)/(a), steady rates; absent while (b) is unavailable.
	Ratio *float64 `json:"ratio,omitempty"`

	eventsTopic string // the service's events topic, for the table
}

type trafficReport struct {
	Records     int64            `json:"records"`
	Bytes       int64            `json:"bytes"`
	ByStream    map[string]int64 `json:"by_stream"`
	BedrockRecs int64            `json:"bedrock_records"`
	Attacks     int              `json:"attacks"`
	Decoys      int              `json:"decoys"`
}

type rateReport struct {
	Records             int64   `json:"records"`
	Bytes               int64   `json:"bytes"`
	Seconds             float64 `json:"seconds"`
	StartupSeconds      float64 `json:"startup_seconds,omitempty"`
	RecordsPerSec       float64 `json:"records_per_sec"`
	SteadyRecordsPerSec float64 `json:"steady_records_per_sec,omitempty"`
	// Small: the backlog was too small for a steady rate (see bench.Result).
	Small         bool    `json:"small_backlog,omitempty"`
	BytesPerSec   float64 `json:"bytes_per_sec"`
	CPUSeconds    float64 `json:"cpu_seconds"`
	CPUPerMillion float64 `json:"cpu_seconds_per_million"`
}

func benchmark(ctx context.Context, f *benchFlags, mix bench.Mix, stderr io.Writer) (*benchReport, error) {
	rep := &benchReport{}
	rep.Machine.OS, rep.Machine.Arch, rep.Machine.GoVersion = runtime.GOOS, runtime.GOARCH, runtime.Version()
	rep.Machine.CPUs, rep.Machine.GOMAXPROCS = runtime.NumCPU(), runtime.GOMAXPROCS(0)
	rep.Config.Seed, rep.Config.Partitions, rep.Config.Replicas = f.seed, f.partitions, f.replicas
	rep.Config.Compression, rep.Config.Duration, rep.Config.Mix = f.compression, f.duration, mix

	prog := newProgress(stderr)
	defer prog.stop()
	// Everything but the broker, the ceiling consumer and the service is
	// the bench's own work (producer, alert reader, admin).
	pprof.SetGoroutineLabels(pprof.WithLabels(ctx, pprof.Labels("who", "bench")))
	defer pprof.SetGoroutineLabels(ctx)

	brokers := []string(f.brokers)
	embedded := len(brokers) == 0
	if embedded {
		var c *kfake.Cluster
		var err error
		// Its goroutines carry the label who=broker in CPU profiles.
		pprof.Do(ctx, pprof.Labels("who", "broker"), func(context.Context) {
			c, err = kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(f.partitions),
				kfake.BrokerConfigs(map[string]string{"transaction.max.timeout.ms": "900000"}))
		})
		if err != nil {
			return nil, fmt.Errorf("starting the embedded broker: %w", err)
		}
		defer c.Close()
		brokers = c.ListenAddrs()
		rep.Machine.Broker = "embedded kfake " + strings.Join(brokers, ",")
	} else {
		rep.Machine.Broker = strings.Join(brokers, ",")
	}
	seedOpts := []kgo.Opt{kgo.SeedBrokers(brokers...)}
	topics := bench.DefaultTopics().WithPrefix(f.topicPrefix)
	rf := int16(-1)
	if embedded {
		rf = 1
	}
	if err := createTopics(ctx, seedOpts, int32(f.partitions), rf, append(topics.All(), f.topicPrefix+service.DefaultTopics().Alerts)...); err != nil {
		return nil, err
	}

	// 1. The backlog.
	gen, err := bench.NewGenerator(mix, f.seed)
	if err != nil {
		return nil, err
	}
	pc := bench.DefaultProducerConfig()
	pc.Compression = f.compression
	popts, _ := pc.Opts()
	pcl, err := kgo.NewClient(append(popts, seedOpts...)...)
	if err != nil {
		return nil, err
	}
	po := bench.ProduceOptions{Topics: topics, Records: f.records, MaxBytes: f.maxBacklogMB << 20, Progress: &atomic.Int64{}}
	if f.records == 0 {
		po.Duration = f.duration * 2 / 3
	}
	start := time.Now()
	prog.set("produce", func() string { return rateLine(po.Progress.Load(), start, "records produced") })
	pr, err := bench.Produce(ctx, pcl, gen, po)
	pcl.Close()
	if err != nil {
		return nil, fmt.Errorf("producing the backlog: %w", err)
	}
	rep.Producer = rateReport{Records: pr.Records, Bytes: pr.Bytes, Seconds: pr.Elapsed.Seconds(), RecordsPerSec: pr.RecordsPerSec,
		BytesPerSec: pr.BytesPerSec, CPUSeconds: pr.CPU.Seconds(), CPUPerMillion: perMillion(pr.CPU, pr.Records)}
	rep.Traffic = traffic(gen)

	// 2. (a) The ceiling: --ceiling-runs reads of the backlog by new
	// groups, the median run counting (a read takes seconds: one is noisy).
	runtime.GC()
	debug.FreeOSMemory()
	_ = bench.ResetPeak()
	var runs []rateReport
	stopProfile, err := startCPUProfile(f.ceilingProfile)
	if err != nil {
		return nil, err
	}
	for i := range f.ceilingRuns {
		var seen atomic.Int64
		start = time.Now()
		prog.set(fmt.Sprintf("(a) ceiling, run %d of %d", i+1, f.ceilingRuns), func() string { return rateLine(seen.Load(), start, "records read") })
		group := fmt.Sprintf("%sbench-ceiling-%d-%d", f.topicPrefix, time.Now().UnixNano(), i)
		var cr bench.Result
		pprof.Do(ctx, pprof.Labels("who", "ceiling"), func(ctx context.Context) {
			cr, err = bench.CeilingWatch(ctx, seedOpts, topics.All(), group, pr.Records, &seen)
		})
		if err != nil {
			stopProfile()
			return nil, fmt.Errorf("(a) ceiling: %w", err)
		}
		runs = append(runs, rateReport{Records: cr.Records, Bytes: cr.Bytes, Seconds: cr.Elapsed.Seconds(), StartupSeconds: cr.Startup.Seconds(),
			RecordsPerSec: cr.RecordsPerSec, SteadyRecordsPerSec: cr.SteadyRecordsPerSec, Small: cr.Small, BytesPerSec: cr.BytesPerSec,
			CPUSeconds: cr.CPU.Seconds(), CPUPerMillion: cr.CPUPerMillion()})
	}
	if err := stopProfile(); err != nil {
		return nil, err
	}
	if m, err := bench.ReadMemory(); err == nil {
		rep.CeilingPeakRSS = m.Peak
	}
	rep.CeilingRuns = runs
	sorted := slices.Clone(runs)
	slices.SortFunc(sorted, func(a, b rateReport) int { return cmp.Compare(a.SteadyRecordsPerSec, b.SteadyRecordsPerSec) })
	rep.Ceiling = sorted[len(sorted)/2]
	cr := rep.Ceiling

	// 3. (b) End to end, then (d) latency at half load; the expected alerts
	// are computed after the service stopped (expectAlerts), so that the
	// replay's state is not in the service's memory.
	rs, err := rules.Builtin()
	if err != nil {
		return nil, err
	}
	pacedPC := pc
	pacedPC.Linger = time.Millisecond
	expected := func(paced int64) ([]bench.ExpectedAlert, error) {
		return expectAlerts(ctx, rep, rs, mix, f.seed, pr.Records, paced, f.latencyAttacks, prog)
	}
	env := e2eEnv{
		brokers: brokers, clientOpts: seedOpts, topics: topics, prefix: f.topicPrefix, embedded: embedded,
		replicas: f.replicas, partitions: int32(f.partitions), backlog: pr.Records, rules: rs,
		gen: gen, paced: f.duration / 3, latencyAttacks: f.latencyAttacks, producer: pacedPC,
		timeout: f.timeout, progress: prog, cpuProfile: f.cpuProfile, memProfile: f.memProfile,
		throughputOnly: f.throughputOnly, tune: f,
	}
	e2e, err := runEndToEnd(ctx, env, expected)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		e2e.Available = false
		e2e.Error = err.Error()
		if rep.Expected.Records == 0 { // the expected alerts of the backlog, for the table
			if _, err := expected(-1); err != nil {
				return nil, err
			}
		}
	}
	rep.EndToEnd = e2e
	rep.eventsTopic = f.topicPrefix + service.DefaultTopics().Events
	if e2e.Available && cr.SteadyRecordsPerSec > 0 {
		r := e2e.SteadyRecordsPerSec / cr.SteadyRecordsPerSec
		rep.Ratio = &r
	}
	return rep, nil
}

// expectAlerts regenerates the traffic of the run — the backlog, then (if
// paced ≥ 0) the paced phase's records with its attack rate — and returns
// the alerts replay raises on it, noting their count and time in rep.
func expectAlerts(ctx context.Context, rep *benchReport, rs []*rules.Rule, mix bench.Mix, seed uint64,
	backlog, paced int64, latencyAttacks float64, prog *progress) ([]bench.ExpectedAlert, error) {
	scfg := service.DefaultConfig()
	rc := processor.DefaultReplayConfig()
	rc.Engine, rc.Decode = scfg.Engine, scfg.Decode
	x, err := bench.NewExpect(rs, rc)
	if err != nil {
		return nil, err
	}
	g, err := bench.NewGenerator(mix, seed)
	if err != nil {
		return nil, err
	}
	var fed atomic.Int64
	start := time.Now()
	prog.set("expect", func() string { return rateLine(fed.Load(), start, "records replayed") })
	feed := func(n int64) error {
		for range n {
			if err := x.Add(g.Next()); err != nil {
				return err
			}
			if fed.Add(1)&1023 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
		}
		return x.Sync()
	}
	if err := feed(backlog); err != nil {
		return nil, err
	}
	rep.Expected.Alerts = len(x.Alerts())
	rep.Expected.ByRule = x.Stats().Alerts
	if paced >= 0 {
		if err := g.SetAttacks(latencyAttacks, time.Minute); err != nil {
			return nil, err
		}
		if err := feed(paced); err != nil {
			return nil, err
		}
	}
	rep.Expected.Records = fed.Load()
	rep.Expected.Seconds = time.Since(start).Seconds()
	return x.Alerts(), nil
}

func createTopics(ctx context.Context, opts []kgo.Opt, partitions int32, rf int16, topics ...string) error {
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := kadm.NewClient(cl).CreateTopics(cctx, partitions, rf, nil, topics...)
	if err != nil {
		return fmt.Errorf("creating topics: %w", err)
	}
	for _, r := range resp.Sorted() {
		if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("creating topic %s: %w", r.Topic, r.Err)
		}
	}
	return nil
}

func traffic(g *bench.Generator) trafficReport {
	s := g.Stats()
	t := trafficReport{Records: s.Records, Bytes: s.Bytes, BedrockRecs: s.Bedrock, ByStream: map[string]int64{}}
	for _, st := range []bench.Stream{bench.CloudTrail, bench.Invocations, bench.Endpoint} {
		t.ByStream[st.String()] = s.ByStream[st]
	}
	for _, a := range g.Attacks() {
		if a.Decoy {
			t.Decoys++
		} else {
			t.Attacks++
		}
	}
	return t
}

func perMillion(cpu time.Duration, records int64) float64 {
	if records == 0 {
		return 0
	}
	return cpu.Seconds() * 1e6 / float64(records)
}

func rateLine(n int64, start time.Time, what string) string {
	return fmt.Sprintf("%d %s (%.0f/s)", n, what, float64(n)/max(time.Since(start).Seconds(), 1e-9))
}

// progress prints the current phase's line on stderr every 2 seconds.
type progress struct {
	w     io.Writer
	mu    sync.Mutex
	phase string
	line  func() string
	done  chan struct{}
	wg    sync.WaitGroup
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w, done: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-p.done:
				return
			case <-t.C:
				p.mu.Lock()
				if p.line != nil {
					fmt.Fprintf(p.w, "bench: %s: %s\n", p.phase, p.line())
				}
				p.mu.Unlock()
			}
		}
	}()
	return p
}

// writer returns a writer of whole lines that do not interleave with the
// progress lines.
func (p *progress) writer() io.Writer { return lockedWriter{p} }

type lockedWriter struct{ p *progress }

func (l lockedWriter) Write(b []byte) (int, error) {
	l.p.mu.Lock()
	defer l.p.mu.Unlock()
	return l.p.w.Write(b)
}

func (p *progress) set(phase string, line func() string) {
	p.mu.Lock()
	p.phase, p.line = phase, line
	p.mu.Unlock()
}

func (p *progress) stop() {
	close(p.done)
	p.wg.Wait()
}

// --- (b) end to end ----------------------------------------------------

type e2eEnv struct {
	brokers    []string
	clientOpts []kgo.Opt
	topics     bench.Topics
	prefix     string
	embedded   bool
	replicas   int
	partitions int32
	backlog    int64 // records already in the input topics
	rules      []*rules.Rule
	expect     *bench.Expect    // fed the backlog already; the paced records are added
	gen        *bench.Generator // the producer's, at the end of the backlog
	regen      *bench.Generator // expect's, at the same point
	paced      time.Duration
	// latencyAttacks is the attacks per million records of the paced phase.
	latencyAttacks float64
	producer       bench.ProducerConfig
	timeout        time.Duration
	progress       *progress
	// cpuProfile and memProfile, if set, profile the throughput phase.
	cpuProfile, memProfile string
	throughputOnly         bool
	tune                   *benchFlags // the service settings to try
}

type e2eResult struct {
	Available bool   `json:"available"`
	Error     string `json:"error,omitempty"`
	Replicas  int    `json:"replicas,omitempty"`

	Records             int64   `json:"records,omitempty"`
	StartupSeconds      float64 `json:"startup_seconds,omitempty"` // start to the first input offset committed
	Seconds             float64 `json:"seconds,omitempty"`         // start to the whole backlog committed
	RecordsPerSec       float64 `json:"records_per_sec,omitempty"`
	SteadyRecordsPerSec float64 `json:"steady_records_per_sec,omitempty"` // 10% to 90% of the backlog committed
	Small               bool    `json:"small_backlog,omitempty"`          // too few commits for a steady rate: from the start
	// EngineTailSeconds is how long the engine still worked on routed
	// events after the last input offset was committed.
	EngineTailSeconds float64 `json:"engine_tail_seconds,omitempty"`
	CPUSeconds        float64 `json:"cpu_seconds,omitempty"`
	CPUPerMillion     float64 `json:"cpu_seconds_per_million,omitempty"`
	BaselineRSSBytes  int64   `json:"baseline_rss_bytes,omitempty"` // when the service started
	PeakRSSBytes      int64   `json:"peak_rss_bytes,omitempty"`     // whole process, from the service's start
	BadgerBytes       int64   `json:"badger_bytes,omitempty"`
	BadgerDiskBytes   int64   `json:"badger_disk_bytes,omitempty"`

	// Txn is what the replicas' clients and metrics saw during the
	// throughput phase (records per transaction, requests, phases).
	Txn *bench.TxnSummary `json:"transactions,omitempty"`

	Latency *latencyResult `json:"latency,omitempty"`
	Alerts  *alertsResult  `json:"alerts,omitempty"`
}

type latencyResult struct {
	TargetPerSec float64 `json:"target_per_sec"` // half the steady rate of (b)
	RatePerSec   float64 `json:"rate_per_sec"`   // the rate produced
	// BehindAtEnd is how many records were not committed yet when the
	// paced phase ended, and DrainSeconds how long they took: a service
	// that keeps up has few.
	BehindAtEnd       int64   `json:"behind_at_end"`
	RoutedBehindAtEnd int64   `json:"routed_behind_at_end"` // routed events not yet evaluated
	DrainSeconds      float64 `json:"drain_seconds"`
	Records           int64   `json:"records"`
	Samples           int     `json:"samples"` // alerts triggered by attack records of the paced phase
	P50Ms             float64 `json:"p50_ms"`
	P99Ms             float64 `json:"p99_ms"`
	MaxMs             float64 `json:"max_ms"`
}

type alertsResult struct {
	Expected   int              `json:"expected"`
	Received   int              `json:"received"` // distinct ids
	Duplicates int              `json:"duplicates"`
	Lost       int              `json:"lost"`
	Unexpected int              `json:"unexpected"`
	ByRule     map[string][]int `json:"by_rule"` // rule → [expected, received]
	LostIDs    []string         `json:"lost_ids,omitempty"`
	ExtraIDs   []string         `json:"unexpected_ids,omitempty"`
}

// ceAlert is what bench reads of an alert CloudEvent (structured mode).
type ceAlert struct {
	ID      string    `json:"id"`
	RuleID  string    `json:"ruleid"`
	Subject string    `json:"subject"`
	Time    time.Time `json:"time"`
}

// alertLog collects the alerts read from the alert topic.
type alertLog struct {
	mu    sync.Mutex
	first map[string]time.Time // id → wall time first read
	rule  map[string]string
	count map[string]int
	bad   int
}

func (l *alertLog) snapshot() (n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.first)
}

// runEndToEnd starts the service in this process on env's topics, which
// hold env.backlog records, and measures it: its throughput until its group
// has committed the backlog, then its event-to-alert latency while traffic
// is produced at half that rate; then it stops the service and checks the
// alerts it produced against expected(records of the paced phase). An error
// means (b) could not be measured (the service failed or timed out); the
// result holds what was measured before.
func runEndToEnd(ctx context.Context, env e2eEnv, expected func(paced int64) ([]bench.ExpectedAlert, error)) (e2eResult, error) {
	res := e2eResult{Replicas: env.replicas}
	stateRoot, err := os.MkdirTemp("", "bedrockwatch-bench-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(stateRoot)
	group := env.prefix + "bedrockwatch"
	topics := service.DefaultTopics()
	for _, p := range []*string{&topics.Alerts, &topics.DLQ, &topics.Events, &topics.Changelog} {
		*p = env.prefix + *p
	}
	topics.CloudTrail, topics.Invocations, topics.Endpoint = env.topics.CloudTrail, env.topics.Invocations, env.topics.Endpoint

	adminCl, err := kgo.NewClient(env.clientOpts...)
	if err != nil {
		return res, err
	}
	defer adminCl.Close()
	adm := kadm.NewClient(adminCl)

	// The alert reader runs from before the service starts.
	alerts := &alertLog{first: map[string]time.Time{}, rule: map[string]string{}, count: map[string]int{}}
	readCtx, stopRead := context.WithCancel(ctx)
	readDone := make(chan error, 1)
	go func() { readDone <- readAlerts(readCtx, env.clientOpts, topics.Alerts, alerts) }()
	defer func() { stopRead(); <-readDone }()

	// The service.
	logger := slog.New(slog.NewTextHandler(env.progress.writer(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	// Each replica's Run error lands in errs; exited tells the waits that
	// one returned.
	var errMu sync.Mutex
	errs := make([]error, env.replicas)
	exited := make(chan struct{}, env.replicas)
	firstErr := func() error {
		errMu.Lock()
		defer errMu.Unlock()
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
		return errors.New("Run returned")
	}
	var running sync.WaitGroup
	runtime.GC()
	debug.FreeOSMemory() // the baseline is what is live, not the producer's garbage
	_ = bench.ResetPeak()
	if m, err := bench.ReadMemory(); err == nil {
		res.BaselineRSSBytes = m.RSS
	}
	if env.memProfile != "" {
		if err := writeAllocs(env.memProfile + ".base"); err != nil {
			return res, err
		}
	}
	stopProfile, err := startCPUProfile(env.cpuProfile)
	if err != nil {
		return res, err
	}
	defer stopProfile()
	stats := make([]*bench.TxnStats, env.replicas)
	catchUpCfg := service.DefaultConfig()
	catchUpCfg.Brokers, catchUpCfg.Topics, catchUpCfg.Group = env.brokers, topics, group
	cpu0 := bench.CPUTime()
	start := time.Now()
	for i := range env.replicas {
		cfg := service.DefaultConfig()
		cfg.Brokers = env.brokers
		cfg.Topics = topics
		cfg.Group = group
		cfg.InstanceID = fmt.Sprintf("bench-%d", i)
		cfg.StateDir = filepath.Join(stateRoot, cfg.InstanceID)
		cfg.CreateTopics = true
		cfg.Partitions = env.partitions
		if env.embedded {
			cfg.ReplicationFactor = 1
		}
		cfg.IdleAdvance = 0 // replay has no processing-time clock; keep the two comparable
		cfg.Rules = env.rules
		stats[i] = bench.NewTxnStats()
		copts := []kgo.Opt{kgo.WithHooks(stats[i])}
		if t := env.tune; t != nil {
			if t.maxPollRecords > 0 {
				cfg.MaxPollRecords = t.maxPollRecords
			}
			if t.stateMemMB > 0 {
				cfg.State.MemTableSize = int64(t.stateMemMB) << 20
			}
			if t.stateTableKB > 0 {
				cfg.State.TableSize = int64(t.stateTableKB) << 10
			}
			if t.stateCacheMB > 0 {
				cfg.State.BlockCacheSize = int64(t.stateCacheMB) << 20
			}
			if t.svcCompression != "" {
				pc := bench.ProducerConfig{Compression: t.svcCompression, MaxInFlight: 1}
				o, err := pc.Opts()
				if err != nil {
					return res, err
				}
				copts = append(copts, o[0]) // the codec only
			}
		}
		svc, err := service.New(cfg, service.Options{Logger: logger, Metrics: stats[i], ClientOpts: copts})
		if err != nil {
			stopRun()
			running.Wait()
			return res, fmt.Errorf("service: %w", err)
		}
		running.Add(1)
		go func() {
			defer running.Done()
			var err error
			pprof.Do(runCtx, pprof.Labels("who", "service"), func(ctx context.Context) { err = svc.Run(ctx) })
			if err == nil && runCtx.Err() == nil {
				err = errors.New("Run returned before it was stopped")
			}
			errMu.Lock()
			errs[i] = err
			errMu.Unlock()
			exited <- struct{}{}
		}()
	}
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		stopRun()
		done := make(chan struct{})
		go func() { running.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			return errors.New("service: did not stop within 60s")
		}
		errMu.Lock()
		defer errMu.Unlock()
		for _, err := range errs {
			if err != nil && !errors.Is(err, context.Canceled) {
				return fmt.Errorf("service: %w", err)
			}
		}
		return nil
	}
	defer stop()

	// Throughput: until the group has committed the backlog.
	inputs := env.topics.All()
	ends, err := endOffsets(ctx, adm, inputs)
	if err != nil {
		return res, err
	}
	var committed atomic.Int64
	env.progress.set("(b) end to end", func() string {
		return rateLine(committed.Load(), start, fmt.Sprintf("of %d records committed", env.backlog))
	})
	w, err := waitCommitted(ctx, adm, group, ends, topics.Events, env.timeout, exited, firstErr, &committed, catchUpCfg)
	if err != nil {
		return res, err
	}
	res.Records = w.total
	res.Seconds = w.done.Sub(start).Seconds()
	res.StartupSeconds = w.first.Sub(start).Seconds()
	res.RecordsPerSec = float64(w.total) / max(res.Seconds, 1e-9)
	res.SteadyRecordsPerSec = w.steady
	res.EngineTailSeconds = w.routedLag.Seconds()
	if w.steady == 0 { // committed in one or two steps: no steady rate to see
		res.Small = true
		res.SteadyRecordsPerSec = res.RecordsPerSec
	}
	cpu := bench.CPUTime() - cpu0
	if err := stopProfile(); err != nil {
		return res, err
	}
	if env.memProfile != "" {
		if err := writeAllocs(env.memProfile); err != nil {
			return res, err
		}
	}
	txn := bench.Summarize(stats)
	res.Txn = &txn
	res.CPUSeconds = cpu.Seconds()
	res.CPUPerMillion = perMillion(cpu, w.total)
	res.Available = true
	if env.throughputOnly {
		if m, err := bench.ReadMemory(); err == nil {
			res.PeakRSSBytes = m.Peak
		}
		if err := stop(); err != nil {
			return res, err
		}
		res.BadgerBytes, res.BadgerDiskBytes, _ = bench.DirSize(stateRoot)
		return res, nil
	}

	// (d) Latency at half the sustained rate.
	rate := res.SteadyRecordsPerSec / 2
	if rate <= 0 {
		rate = res.RecordsPerSec / 2
	}
	lat := &latencyResult{TargetPerSec: rate}
	res.Latency = lat
	produced := map[string]time.Time{} // attack record event id → produce call
	// Attacks come ten times as often, with gaps of at most a minute, so
	// that a short phase still has enough of them to make a p99; expect's
	// generator is changed at the same record.
	if err := env.gen.SetAttacks(env.latencyAttacks, time.Minute); err != nil {
		return res, err
	}
	popts, err := env.producer.Opts()
	if err != nil {
		return res, err
	}
	pcl, err := kgo.NewClient(append(popts, env.clientOpts...)...)
	if err != nil {
		return res, err
	}
	po := bench.ProduceOptions{Topics: env.topics, Duration: env.paced, Rate: rate, Progress: &atomic.Int64{},
		OnRecord: func(r bench.Record, at time.Time) {
			if r.Step != nil {
				produced[r.Step.EventID] = at
			}
		}}
	pstart := time.Now()
	env.progress.set("(d) latency", func() string {
		return fmt.Sprintf("%s at %.0f/s target, %d alerts read", rateLine(po.Progress.Load(), pstart, "records produced"), rate, alerts.snapshot())
	})
	pr, perr := bench.Produce(ctx, pcl, env.gen, po)
	pcl.Close()
	lat.Records = pr.Records
	if perr != nil {
		return res, fmt.Errorf("producing the paced traffic: %w", perr)
	}
	lat.RatePerSec = pr.RecordsPerSec
	drainStart := time.Now()
	ends, err = endOffsets(ctx, adm, inputs)
	if err != nil {
		return res, err
	}
	if n, err := committedTotal(ctx, adm, group, ends); err == nil {
		lat.BehindAtEnd = env.backlog + pr.Records - n
	}
	if evEnds, err := routedEnds(ctx, adm, topics.Events); err == nil {
		if n, err := committedTotal(ctx, adm, group, evEnds); err == nil {
			for _, e := range evEnds {
				lat.RoutedBehindAtEnd += e
			}
			lat.RoutedBehindAtEnd -= n
		}
	}
	env.progress.set("(d) draining", func() string { return fmt.Sprintf("%d records committed", committed.Load()) })
	if _, err := waitCommitted(ctx, adm, group, ends, topics.Events, env.timeout, exited, firstErr, &committed, catchUpCfg); err != nil {
		return res, err
	}
	lat.DrainSeconds = time.Since(drainStart).Seconds()
	if m, err := bench.ReadMemory(); err == nil {
		res.PeakRSSBytes = m.Peak
	}
	if err := stop(); err != nil {
		return res, err
	}
	res.BadgerBytes, res.BadgerDiskBytes, _ = bench.DirSize(stateRoot)
	// Alerts commit with the offsets: all are readable now. Replay the
	// traffic meanwhile, then give the reader a moment more.
	want, err := expected(pr.Records)
	if err != nil {
		return res, err
	}
	env.progress.set("(g) alerts", func() string { return fmt.Sprintf("%d of %d expected alerts read", alerts.snapshot(), len(want)) })
	catchUp := time.Now().Add(10 * time.Second)
	for time.Now().Before(catchUp) && alerts.snapshot() < len(want) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)

	// (g) and the latency samples.
	alerts.mu.Lock()
	defer alerts.mu.Unlock()
	ar := &alertsResult{Expected: len(want), Received: len(alerts.first), ByRule: map[string][]int{}}
	res.Alerts = ar
	wanted := map[string]bool{}
	var samples []time.Duration
	for _, a := range want {
		wanted[a.ID] = true
		br := ar.ByRule[a.RuleID]
		if br == nil {
			br = []int{0, 0}
			ar.ByRule[a.RuleID] = br
		}
		br[0]++
		got, ok := alerts.first[a.ID]
		if !ok {
			ar.Lost++
			if len(ar.LostIDs) < 20 {
				phase := "backlog"
				if a.Record >= env.backlog {
					phase = "paced phase"
				}
				ar.LostIDs = append(ar.LostIDs, fmt.Sprintf("%s %s %s (record %d, %s, event time %s)",
					a.RuleID, a.Subject, a.ID, a.Record, phase, a.Time.Format(time.RFC3339)))
			}
			continue
		}
		br[1]++
		if at, ok := produced[a.Trigger]; ok {
			samples = append(samples, got.Sub(at))
		}
	}
	for id, n := range alerts.count {
		if n > 1 {
			ar.Duplicates += n - 1
		}
		if !wanted[id] {
			ar.Unexpected++
			if len(ar.ExtraIDs) < 20 {
				ar.ExtraIDs = append(ar.ExtraIDs, alerts.rule[id]+" "+id)
			}
			br := ar.ByRule[alerts.rule[id]]
			if br == nil {
				br = []int{0, 0}
				ar.ByRule[alerts.rule[id]] = br
			}
			br[1]++
		}
	}
	sort.Strings(ar.ExtraIDs)
	lat.Samples = len(samples)
	if len(samples) > 0 {
		slices.Sort(samples)
		q := func(p float64) float64 {
			return float64(samples[min(len(samples)-1, int(p*float64(len(samples))))].Microseconds()) / 1000
		}
		lat.P50Ms, lat.P99Ms, lat.MaxMs = q(0.50), q(0.99), float64(samples[len(samples)-1].Microseconds())/1000
	}
	return res, nil
}

// readAlerts reads the alert topic with read_committed from the start
// until ctx ends, noting the wall time each alert id is first read.
func readAlerts(ctx context.Context, opts []kgo.Opt, topic string, l *alertLog) error {
	cl, err := kgo.NewClient(append(append([]kgo.Opt{}, opts...), kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(50*time.Millisecond))...)
	if err != nil {
		return err
	}
	defer cl.Close()
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil || fs.IsClientClosed() {
			return nil
		}
		now := time.Now()
		l.mu.Lock()
		fs.EachRecord(func(r *kgo.Record) {
			var a ceAlert
			if err := json.Unmarshal(r.Value, &a); err != nil || a.ID == "" {
				l.bad++
				return
			}
			if _, ok := l.first[a.ID]; !ok {
				l.first[a.ID] = now
				l.rule[a.ID] = a.RuleID
			}
			l.count[a.ID]++
		})
		l.mu.Unlock()
	}
}

type topicPartition struct {
	t string
	p int32
}

func endOffsets(ctx context.Context, adm *kadm.Client, topics []string) (map[topicPartition]int64, error) {
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	lo, err := adm.ListEndOffsets(lctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("listing end offsets: %w", err)
	}
	out := map[topicPartition]int64{}
	var errs []error
	lo.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			errs = append(errs, fmt.Errorf("%s[%d]: %w", o.Topic, o.Partition, o.Err))
			return
		}
		out[topicPartition{o.Topic, o.Partition}] = o.Offset
	})
	return out, errors.Join(errs...)
}

// routedEnds returns the offsets a group that has evaluated every routed
// event of the events topic has committed: the service writes that topic
// in transactions only, so the last offset of each partition holds a
// commit marker, which a consumer never reads past.
func routedEnds(ctx context.Context, adm *kadm.Client, events string) (map[topicPartition]int64, error) {
	ends, err := endOffsets(ctx, adm, []string{events})
	for tp, e := range ends {
		ends[tp] = max(e-1, 0)
	}
	return ends, err
}

// committedTotal returns the records of ends the group has committed.
func committedTotal(ctx context.Context, adm *kadm.Client, group string, ends map[topicPartition]int64) (int64, error) {
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	offs, err := adm.FetchOffsets(fctx, group)
	if err != nil {
		return 0, err
	}
	var n int64
	for tp, end := range ends {
		if o, ok := offs.Lookup(tp.t, tp.p); ok && o.Err == nil {
			n += min(o.At, end)
		}
	}
	return n, nil
}

type waited struct {
	total       int64
	first, done time.Time
	steady      float64
	// routedLag is how long the engine took to finish the routed events
	// after the last input was committed.
	routedLag time.Duration
}

// waitCommitted polls the group's committed offsets until the input
// topics' reach ends and then the internal events topic's reach its end
// offsets as they stand then: the service has then decoded and routed
// every input record and run the engine on every routed event (inputs are
// committed when routed, routed events when evaluated). It fails when a
// replica's Run returns, or after timeout without progress.
//
// The steady rate runs from the moment 10% of the inputs were committed to
// the end of the engine's work, so that it holds both stages.
//
// With several replicas an events partition may end in several commit
// markers (and aborted records), so the group's offset can stay short of
// end-1 for good: then service.CaughtUp, which reads what lies between,
// decides, at most once a second.
func waitCommitted(ctx context.Context, adm *kadm.Client, group string, ends map[topicPartition]int64, events string,
	timeout time.Duration, exited <-chan struct{}, runErr func() error, committed *atomic.Int64, svc service.Config) (waited, error) {
	var lastCheck time.Time
	var w waited
	for _, e := range ends {
		w.total += e
	}
	var t10, inputsDone time.Time
	var c10 int64
	var base int64 = -1
	var evEnds map[topicPartition]int64 // set once the inputs are committed
	lastProgress, last := time.Now(), int64(-1)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return w, ctx.Err()
		case <-exited:
			return w, fmt.Errorf("service: %w", runErr())
		case <-tick.C:
		}
		fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		offs, err := adm.FetchOffsets(fctx, group)
		cancel()
		if err != nil && !errors.Is(err, kerr.CoordinatorLoadInProgress) && !errors.Is(err, kerr.GroupIDNotFound) {
			if ctx.Err() != nil {
				return w, ctx.Err()
			}
			continue // retried on the next tick
		}
		sum := func(ends map[topicPartition]int64) (n int64) {
			for tp, end := range ends {
				if o, ok := offs.Lookup(tp.t, tp.p); ok && o.Err == nil {
					n += min(o.At, end)
				}
			}
			return n
		}
		n := sum(ends)
		now := time.Now()
		committed.Store(n)
		if base < 0 {
			base = n // records committed before this wait (the backlog, in the paced phase)
		}
		progress := n
		if evEnds != nil {
			progress += sum(evEnds)
		}
		if progress > last {
			last, lastProgress = progress, now
		}
		if w.first.IsZero() && n > base {
			w.first = now
		}
		if t10.IsZero() && n > base && n-base >= (w.total-base)/10 {
			t10, c10 = now, n
		}
		if n >= w.total && evEnds == nil {
			inputsDone = now
			if evEnds, err = routedEnds(ctx, adm, events); err != nil {
				return w, err
			}
		}
		if evEnds != nil {
			var evTotal int64
			for _, e := range evEnds {
				evTotal += e
			}
			done := sum(evEnds) >= evTotal
			if !done && now.Sub(lastCheck) > time.Second {
				lastCheck = now
				if ok, err := service.CaughtUp(ctx, adm, svc); err == nil && ok {
					done = true
				}
			}
			if done {
				w.done = now
				w.routedLag = now.Sub(inputsDone)
				if d := now.Sub(t10).Seconds(); d > 0 && w.total > c10 && t10.Before(inputsDone) {
					w.steady = float64(w.total-c10) / d
				}
				if w.first.IsZero() {
					w.first = now
				}
				return w, nil
			}
		}
		if now.Sub(lastProgress) > timeout {
			return w, fmt.Errorf("service: no progress for %s: %d of %d input records committed", timeout, n, w.total)
		}
	}
}

// --- the table ---------------------------------------------------------

func printBench(w io.Writer, r *benchReport) {
	m := r.Config.Mix
	fmt.Fprintf(w, "bedrockwatch bench: %d CPUs (GOMAXPROCS %d), %s, %s; %d partitions, seed %d\n",
		r.Machine.CPUs, r.Machine.GOMAXPROCS, r.Machine.GoVersion, r.Machine.Broker, r.Config.Partitions, r.Config.Seed)
	t := r.Traffic
	fmt.Fprintf(w, "traffic: %d records, %s: cloudtrail %d (%.1f%% bedrock), invocation logs %d, endpoint %d; %d keys (Zipf s=%.2f), %d attacks, %d decoys\n\n",
		t.Records, humanBytes(t.Bytes), t.ByStream["cloudtrail"], 100*float64(t.BedrockRecs)/max(float64(t.ByStream["cloudtrail"]), 1),
		t.ByStream["invocations"], t.ByStream["endpoint"], m.Keys, m.ZipfS, t.Attacks, t.Decoys)

	fmt.Fprintf(w, "%-46s %12s %10s %14s\n", "", "records/s", "MB/s", "CPU s/M rec")
	row := func(name string, rr rateReport, rate float64) {
		mbps := float64(rr.Bytes) / max(float64(rr.Records), 1) * rate / 1e6
		fmt.Fprintf(w, "%-46s %12.0f %10.1f %14.2f\n", name, rate, mbps, rr.CPUPerMillion)
	}
	row(fmt.Sprintf("producer (%s, async, keyed)", r.Config.Compression), r.Producer, r.Producer.RecordsPerSec)
	row("(a) ceiling: group consumer that discards", r.Ceiling, r.Ceiling.SteadyRecordsPerSec)
	e := r.EndToEnd
	label := fmt.Sprintf("(b) bedrockwatch end to end (%d replica%s)", r.Config.Replicas, plural(r.Config.Replicas))
	if !e.Available {
		fmt.Fprintf(w, "%-46s unavailable: %s\n", label, e.Error)
		fmt.Fprintf(w, "%-46s —\n", "(c) ratio b/a")
		fmt.Fprintf(w, "%-46s —\n", "(d) event-to-alert latency at 50% load")
		fmt.Fprintf(w, "%-46s —\n", "(e) CPU seconds per million records")
		fmt.Fprintf(w, "%-46s —\n", "(f) peak RSS / Badger size")
		fmt.Fprintf(w, "%-46s %d expected (backlog); received —\n", "(g) alerts", r.Expected.Alerts)
	} else {
		fmt.Fprintf(w, "%-46s %12.0f %10s %14.2f\n", label, e.SteadyRecordsPerSec, "", e.CPUPerMillion)
		if r.Ratio != nil {
			fmt.Fprintf(w, "%-46s %12.2f\n", "(c) ratio b/a", *r.Ratio)
		}
		if l := e.Latency; l != nil && l.Samples > 0 {
			fmt.Fprintf(w, "%-46s p50 %.0f ms, p99 %.0f ms, max %.0f ms (%d alerts)\n",
				"(d) event-to-alert latency at 50% load", l.P50Ms, l.P99Ms, l.MaxMs, l.Samples)
			fmt.Fprintf(w, "%-46s %.0f records/s produced (target %.0f); at the end %d input records and %d routed events behind, drained in %.1f s\n",
				"", l.RatePerSec, l.TargetPerSec, l.BehindAtEnd, l.RoutedBehindAtEnd, l.DrainSeconds)
		} else {
			fmt.Fprintf(w, "%-46s no attack alert in the paced phase (make --duration longer)\n", "(d) event-to-alert latency at 50% load")
		}
		fmt.Fprintf(w, "%-46s %.2f (whole process, broker included)\n", "(e) CPU seconds per million records", e.CPUPerMillion)
		fmt.Fprintf(w, "%-46s %s peak / Badger %s (%s on disk)\n", "(f) peak RSS / Badger size",
			humanBytes(e.PeakRSSBytes), humanBytes(e.BadgerBytes), humanBytes(e.BadgerDiskBytes))
		fmt.Fprintf(w, "%-46s whole process: %s held when (b) started; peak during (a), broker and a consumer: %s\n", "",
			humanBytes(e.BaselineRSSBytes), humanBytes(r.CeilingPeakRSS))
		if a := e.Alerts; a != nil {
			fmt.Fprintf(w, "%-46s %d expected, %d received, %d duplicates, %d lost, %d unexpected\n", "(g) alerts",
				a.Expected, a.Received, a.Duplicates, a.Lost, a.Unexpected)
		}
		if a := e.Alerts; a != nil {
			for _, id := range a.LostIDs {
				fmt.Fprintf(w, "    lost: %s\n", id)
			}
			for _, id := range a.ExtraIDs {
				fmt.Fprintf(w, "    unexpected: %s\n", id)
			}
		}
		fmt.Fprintf(w, "\n(b) in detail: %d records in %.1f s from start (%.0f records/s, first commit after %.1f s; the engine finished the routed events %.1f s after the last input commit)\n",
			e.Records, e.Seconds, e.RecordsPerSec, e.StartupSeconds, e.EngineTailSeconds)
		if e.Txn != nil {
			for _, l := range e.Txn.Lines(r.eventsTopic) {
				fmt.Fprintf(w, "    %s\n", l)
			}
		}
	}
	if !r.Ceiling.Small {
		var rates []string
		for _, c := range r.CeilingRuns {
			rates = append(rates, fmt.Sprintf("%.0f", c.SteadyRecordsPerSec))
		}
		fmt.Fprintf(w, "(a) in detail: median of %d reads (%s records/s); the median read %d records in %.1f s after %.1f s of start-up\n",
			len(r.CeilingRuns), strings.Join(rates, ", "), r.Ceiling.Records, r.Ceiling.Seconds, r.Ceiling.StartupSeconds)
	}
	if r.Ceiling.Small || e.Small {
		fmt.Fprintln(w, "warning: the backlog is too small for steady rates (they include start-up); raise --duration or --records")
	}
	if r.Producer.RecordsPerSec > 0 && r.Ceiling.SteadyRecordsPerSec > 0 {
		fmt.Fprintf(w, "ratios: producer/ceiling %.2f", r.Producer.RecordsPerSec/r.Ceiling.SteadyRecordsPerSec)
		if r.Ratio != nil {
			fmt.Fprintf(w, ", end to end/ceiling %.2f", *r.Ratio)
		}
		fmt.Fprintln(w)
	}
	if a := e.Alerts; a != nil && len(a.ByRule) > 0 {
		fmt.Fprintf(w, "\nalerts by rule (expected / received):\n")
		ids := make([]string, 0, len(a.ByRule))
		for id := range a.ByRule {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			fmt.Fprintf(w, "  %-52s %6d / %d\n", id, a.ByRule[id][0], a.ByRule[id][1])
		}
	} else if len(r.Expected.ByRule) > 0 {
		fmt.Fprintf(w, "\nexpected alerts of the backlog by rule:\n")
		for _, id := range processor.SortedCounts(r.Expected.ByRule) {
			fmt.Fprintf(w, "  %-52s %6d\n", id, r.Expected.ByRule[id])
		}
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// startCPUProfile starts a CPU profile to file (none if empty); the
// returned function stops it, once.
func startCPUProfile(file string) (func() error, error) {
	if file == "" {
		return func() error { return nil }, nil
	}
	fh, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(fh); err != nil {
		fh.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	var once sync.Once
	var cerr error
	return func() error {
		once.Do(func() {
			pprof.StopCPUProfile()
			cerr = fh.Close()
		})
		return cerr
	}, nil
}

// writeAllocs writes the allocation profile as it stands (allocations
// since the start of the process: diff two with -base).
func writeAllocs(file string) error {
	runtime.GC() // the profile is as of the last GC
	fh, err := os.Create(file)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(fh, 0); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}
