package service_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bedrockwatch/bedrockwatch/service"
	"github.com/bedrockwatch/bedrockwatch/service/servicetest"
)

// The drill's topics have this many partitions each (inputs, events and
// changelog), so that three replicas get some of each.
const drillPartitions = 6

// drillSession is the group session timeout of the drill's replicas: a
// replica that stops (static members do not leave the group) or dies frees
// its partitions after it. 6s is the brokers' usual minimum.
const drillSession = 6 * time.Second

// Rule ids the drill counts by subject.
const (
	ruleEnumFirstSeen = "bedrock-model-enumeration-first-seen"
	ruleAPIFirstSeen  = "bedrock-api-first-seen-for-principal"
)

// drillScale sizes the rebalance drill.
type drillScale struct {
	enumerators int           // IAM users that enumerate models once per round
	apps        int           // assumed roles invoking models all along
	rate        int           // records produced per second
	step        time.Duration // event time between two records of the body
	roundFor    time.Duration // wall time one round of enumerations is spread over
	cycles      int           // churn cycles after the checked move
}

// TestRebalanceDrill: three replicas of the service, each with its own
// instance id and state directory, run as child processes while
// partitions move under a steady flow of CloudTrail records: two replicas
// start, a third joins, one is stopped with SIGTERM and one killed with
// SIGKILL, leaving the third alone with every partition; without -short,
// churn cycles follow (restarts on the old state directories, more kills
// and stops). It asserts that
//
//   - the alerts read back with read_committed are exactly replay's for the
//     same inputs: none lost, none unexpected, none duplicated;
//   - a first-seen baseline learnt on one replica holds on the one that
//     takes the partition over: users enumerate models once after the
//     learning period (on the first two replicas), then again in every
//     round while and after their partitions move, and
//     bedrock-model-enumeration-first-seen and
//     bedrock-api-first-seen-for-principal raise exactly one alert per
//     subject, in replay and from the service;
//   - the partitions did move: every partition of the events topic has
//     another owner after the moves than when the baseline was learnt
//     (kadm DescribeGroups), and the new owner restored it from the
//     changelog (its log says "partition restored" with changelog_records
//     > 0).
//
// Event time. Replay reads one stream; the replicas each align their
// watermark over the input partitions they own. While a partition is
// unowned (a stopped replica's session running out, a dead replica's open
// transaction) the others read on, so its records come late by the event
// time the others covered meanwhile. The contract holds for records that
// arrive within the allowed lateness (15m), so the body of the workload
// moves event time at about 10 s per second of wall time: a stall of 90s
// stays within it. The learning period (30 days) is covered by a burst of
// enumerations at the start, a month before the body. Half the body is
// records of other AWS services, which the decoder filters out, as most of
// a real CloudTrail topic.
//
// Scale: -short 24 enumerators at 400 records/s (about 30s); without it 60
// at 600/s and one churn cycle; BEDROCKWATCH_CHAOS (make chaos) 150 at
// 800/s and three churn cycles.
func TestRebalanceDrill(t *testing.T) {
	sc := drillScale{enumerators: 60, apps: 30, rate: 600, step: 15 * time.Millisecond, roundFor: 3 * time.Second, cycles: 1}
	switch {
	case servicetest.Chaos():
		sc = drillScale{enumerators: 150, apps: 40, rate: 800, step: 12 * time.Millisecond, roundFor: 4 * time.Second, cycles: 3}
	case testing.Short():
		sc = drillScale{enumerators: 24, apps: 16, rate: 400, step: 25 * time.Millisecond, roundFor: 2 * time.Second}
	}
	began := time.Now()
	brokers, prefix, _ := servicetest.Brokers(t, drillPartitions)
	cfg := servicetest.Config(t, brokers, prefix, "drill", t.TempDir())
	servicetest.CreateInputs(t, brokers, cfg, drillPartitions)
	d := newDrill(t, brokers, prefix, cfg)
	cl := servicetest.Client(t, brokers, kgo.MaxBufferedRecords(1<<16))
	w := newDrillWorkload(sc)
	w.checkCoverage(t)
	fl := startFlow(t, cl, cfg.Topics.CloudTrail, w, sc)

	// Two replicas; the learning period starts with the warm-up burst,
	// which both of them see part of.
	d.start("replica-a")
	d.start("replica-b")
	d.settle("replica-a", "replica-b")
	fl.burst(w.warmup())
	d.drain(time.Minute)

	// Round 1, a month later: the first enumerations after the learning
	// period, on the first two replicas; then event time moves on (in
	// steps the replicas consume one at a time) until the first-seen
	// alerts of round 1 are decided and out. The baseline is theirs.
	fl.resume()
	fl.round(1)
	fl.pause()
	d.drain(time.Minute)
	for i := 0; i < 5; i++ {
		fl.burst(w.span(5*time.Minute, 10*time.Second))
		d.drain(time.Minute)
	}
	d.waitFirstSeen(w)
	learnt := d.settle("replica-a", "replica-b")

	// Partitions move while records flow, a round of enumerations during
	// each move.
	fl.resume()
	fl.roundWhile(2, func() { d.start("replica-c") })
	d.settle("replica-a", "replica-b", "replica-c")
	fl.roundWhile(3, func() { d.term("replica-a") })
	d.settle("replica-b", "replica-c")
	fl.roundWhile(4, func() { d.kill("replica-b") })
	moved := d.settle("replica-c")
	d.checkMoved(learnt, moved)
	// After the moves: replica-c alone, with every partition and none of
	// the baseline learnt by itself.
	fl.round(5)

	// Churn: restarts on the old state directories (the checkpoint and the
	// changelog tail), kills and stops.
	names := []string{"replica-a", "replica-b", "replica-c"}
	r := 6
	for c := 0; c < sc.cycles; c++ {
		fl.roundWhile(r, func() {
			for _, n := range names {
				if !d.running(n) {
					d.start(n)
				}
			}
		})
		d.settle(names...)
		victim, stopped := names[(c+2)%3], names[c%3]
		rest := slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == victim })
		fl.roundWhile(r+1, func() { d.kill(victim) })
		d.settle(rest...)
		last := slices.DeleteFunc(slices.Clone(rest), func(n string) bool { return n == stopped })
		fl.roundWhile(r+2, func() { d.term(stopped) })
		d.settle(last...)
		r += 3
	}
	fl.round(r)
	fl.stop()
	d.drain(2 * time.Minute)
	// A tail of invocations on every input partition, so that each
	// replica's watermark passes whatever replay's passes.
	fl.burst(w.tail())
	d.drain(2 * time.Minute)

	want := servicetest.Replay(t, cfg, fl.produced)
	got := servicetest.ReadAlerts(t, brokers, cfg.Topics.Alerts, len(want), time.Second, 2*time.Minute)
	t.Logf("%d records in %d rounds, %d enumerators; %s (%s)", len(fl.produced), r, sc.enumerators, d.summary(), time.Since(began).Round(time.Second))
	lost, unexpected, dups := servicetest.Mismatch(t, want, got)
	servicetest.ReportDrill(t, "rebalance", len(want), len(got), dups, lost, unexpected)
	if lost+unexpected+dups > 0 {
		d.dumpLogs()
		d.dumpDLQ()
		t.FailNow()
	}
	checkFirstSeen(t, "replay", want, w)
	checkFirstSeen(t, "service", got, w)
}

// checkFirstSeen asserts that the first-seen rules raised exactly one alert
// per subject, one for each enumerator, and none during learning.
func checkFirstSeen(t *testing.T, who string, as []servicetest.Alert, w *drillWorkload) {
	t.Helper()
	n := map[string]int{}
	for _, a := range as {
		if a.RuleID == ruleEnumFirstSeen || a.RuleID == ruleAPIFirstSeen {
			n[a.RuleID+" "+a.Subject]++
		}
	}
	var bad []string
	for k, c := range n {
		if c != 1 || strings.Contains(k, "/warm-") {
			bad = append(bad, fmt.Sprintf("%d× %s", c, k))
		}
	}
	for e := 0; e < w.sc.enumerators; e++ {
		u := w.enumerator(e)
		for _, k := range []string{ruleEnumFirstSeen + " " + u.arn, ruleAPIFirstSeen + " " + u.arn + "|ListFoundationModels",
			ruleAPIFirstSeen + " " + u.arn + "|InvokeModel"} {
			if n[k] == 0 {
				bad = append(bad, "0× "+k)
			}
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		t.Errorf("%s: %d first-seen subjects without exactly one alert (want one per enumerator, none for the warm-up users): %s",
			who, len(bad), strings.Join(bad[:min(len(bad), 10)], "; "))
		return
	}
	t.Logf("%s: %d first-seen subjects, one alert each", who, len(n))
}

// drillWorkload writes the drill's CloudTrail records in event-time order.
type drillWorkload struct {
	sc   drillScale
	t0   time.Time // the warm-up burst: the learning period starts
	body time.Time // event time of the next body record
	n    int       // records written
}

type drillIdentity struct {
	typ, arn, key, name string
}

// drillSpec is one Bedrock call of a round.
type drillSpec struct {
	who    drillIdentity
	action string
}

func newDrillWorkload(sc drillScale) *drillWorkload {
	t0 := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	return &drillWorkload{sc: sc, t0: t0, body: t0.Add(31*24*time.Hour + 7*time.Minute)}
}

func (w *drillWorkload) enumerator(i int) drillIdentity {
	name := fmt.Sprintf("enum-%03d", i)
	return drillIdentity{typ: "IAMUser", arn: "arn:aws:iam::111122223333:user/" + name, key: fmt.Sprintf("AKIA%016d", 1_000+i), name: name}
}

func (w *drillWorkload) app(i int) drillIdentity {
	return drillIdentity{typ: "AssumedRole", arn: fmt.Sprintf("arn:aws:sts::111122223333:assumed-role/app-%02d/worker", i),
		key: fmt.Sprintf("ASIA%016d", 2_000+i)}
}

func (w *drillWorkload) record(at time.Time, who drillIdentity, source, action string) []byte {
	w.n++
	name := ""
	if who.name != "" {
		name = `,"userName":"` + who.name + `"`
	}
	return fmt.Appendf(nil, `{"eventVersion":"1.09","userIdentity":{"type":"%s","principalId":"AIDA%08d","arn":"%s","accountId":"111122223333","accessKeyId":"%s"%s},"eventTime":"%s","eventSource":"%s","eventName":"%s","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userAgent":"Boto3/1.34.2","requestParameters":{"modelId":"anthropic.claude-3-sonnet-20240229-v1:0"},"responseElements":null,"requestID":"r-%d","eventID":"rb-%08d","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}`,
		who.typ, w.n, who.arn, who.key, name, at.Format(time.RFC3339Nano), source, action, w.n, w.n)
}

// warmup is the first records: warm-up users listing models at t0, so the
// learning period starts there, on every partition.
func (w *drillWorkload) warmup() [][]byte {
	var out [][]byte
	for i := 0; i < 24; i++ {
		name := fmt.Sprintf("warm-%02d", i)
		who := drillIdentity{typ: "IAMUser", arn: "arn:aws:iam::111122223333:user/" + name, key: fmt.Sprintf("AKIA%016d", 3_000+i), name: name}
		out = append(out, w.record(w.t0, who, "bedrock.amazonaws.com", "ListFoundationModels"))
	}
	return out
}

// next is the next body record: sp when given, else an application's model
// invocation (every other record) or a record of another AWS service,
// which the decoder filters out (most of a real CloudTrail topic).
func (w *drillWorkload) next(sp *drillSpec) []byte {
	at := w.body
	w.body = w.body.Add(w.sc.step)
	switch {
	case sp != nil:
		return w.record(at, sp.who, "bedrock.amazonaws.com", sp.action)
	case w.n%2 == 0:
		return w.record(at, w.app(w.n/2%w.sc.apps), "bedrock.amazonaws.com", "InvokeModel")
	}
	return w.record(at, drillIdentity{typ: "IAMUser", arn: fmt.Sprintf("arn:aws:iam::111122223333:user/f%d", w.n%5000),
		key: fmt.Sprintf("AKIA%016d", 9_000_000+w.n%5000)}, "s3.amazonaws.com", "GetObject")
}

// round is every enumerator listing the models and invoking one, the
// invocation two calls after the listing.
func (w *drillWorkload) round() []drillSpec {
	var out []drillSpec
	for e := 0; e <= w.sc.enumerators+1; e++ {
		if e < w.sc.enumerators {
			out = append(out, drillSpec{w.enumerator(e), "ListFoundationModels"})
		}
		if e >= 2 {
			out = append(out, drillSpec{w.enumerator(e - 2), "InvokeModel"})
		}
	}
	return out
}

// known are the identities whose model invocations raise nothing new once
// they have been seen: the applications and the enumerators.
func (w *drillWorkload) known() []drillIdentity {
	var out []drillIdentity
	for i := 0; i < w.sc.apps; i++ {
		out = append(out, w.app(i))
	}
	for e := 0; e < w.sc.enumerators; e++ {
		out = append(out, w.enumerator(e))
	}
	return out
}

// span is model invocations by the known identities over the next d of
// event time, step apart.
func (w *drillWorkload) span(d, step time.Duration) [][]byte {
	ids := w.known()
	var out [][]byte
	for end := w.body.Add(d); w.body.Before(end); w.body = w.body.Add(step) {
		out = append(out, w.record(w.body, ids[w.n%len(ids)], "bedrock.amazonaws.com", "InvokeModel"))
	}
	return out
}

// tail is invocations by the known identities over the next two and a half
// hours, ending 52 minutes past an hour (so the final watermarks are off
// the usual window boundaries): every input partition reads on, so every
// replica's watermark passes what replay's passes.
func (w *drillWorkload) tail() [][]byte {
	end := w.body.Truncate(time.Hour).Add(2*time.Hour + 52*time.Minute)
	return w.span(end.Sub(w.body)+time.Millisecond, 20*time.Second)
}

// checkCoverage asserts a property the drill relies on: the applications'
// records reach every partition of the input topic, so that their
// invocations move the watermark of whichever replica owns each.
func (w *drillWorkload) checkCoverage(t *testing.T) {
	t.Helper()
	tp := kgo.StickyKeyPartitioner(nil).ForTopic("cloudtrail")
	hit := map[int]bool{}
	for i := 0; i < w.sc.apps; i++ {
		hit[tp.Partition(&kgo.Record{Key: []byte(w.app(i).key)}, drillPartitions)] = true
	}
	if len(hit) != drillPartitions {
		t.Fatalf("the drill's applications reach %d of the %d input partitions: choose other keys", len(hit), drillPartitions)
	}
}

// flow produces the body at a steady rate in the background, mixing in the
// rounds it is given; what it produced, in order, is what replay reads.
type flow struct {
	t     *testing.T
	cl    *kgo.Client
	topic string
	w     *drillWorkload
	sc    drillScale

	mu       sync.Mutex
	running  bool
	queue    []drillSpec
	gap      int // body records between two calls of the round
	nextAt   int
	produced [][]byte
	err      error
	tick     chan struct{} // the loop's acknowledgement of a pause
	quit     chan struct{}
	done     chan struct{}
}

func startFlow(t *testing.T, cl *kgo.Client, topic string, w *drillWorkload, sc drillScale) *flow {
	f := &flow{t: t, cl: cl, topic: topic, w: w, sc: sc, tick: make(chan struct{}), quit: make(chan struct{}), done: make(chan struct{})}
	go f.loop()
	t.Cleanup(func() {
		select {
		case <-f.quit:
		default:
			close(f.quit)
		}
		<-f.done
	})
	return f
}

func (f *flow) loop() {
	defer close(f.done)
	per := max(f.sc.rate/100, 1) // records per 10ms
	tk := time.NewTicker(10 * time.Millisecond)
	defer tk.Stop()
	for {
		select {
		case <-f.quit:
			return
		case f.tick <- struct{}{}:
			continue
		case <-tk.C:
		}
		f.mu.Lock()
		if f.running {
			for i := 0; i < per; i++ {
				var sp *drillSpec
				if len(f.queue) > 0 && f.w.n >= f.nextAt {
					sp = &f.queue[0]
					f.queue = f.queue[1:]
					f.nextAt = f.w.n + f.gap
				}
				f.send(f.w.next(sp))
			}
		}
		f.mu.Unlock()
	}
}

// send produces one record; f.mu is held.
func (f *flow) send(msg []byte) {
	f.produced = append(f.produced, msg)
	f.cl.Produce(context.Background(), &kgo.Record{Topic: f.topic, Key: servicetest.Key(msg), Value: msg}, func(_ *kgo.Record, err error) {
		if err != nil {
			f.mu.Lock()
			if f.err == nil {
				f.err = err
			}
			f.mu.Unlock()
		}
	})
}

// burst produces msgs at once, the flow paused, and waits for them.
func (f *flow) burst(msgs [][]byte) {
	f.mu.Lock()
	if f.running {
		f.mu.Unlock()
		f.t.Fatal("burst while the flow runs")
	}
	for _, m := range msgs {
		f.send(m)
	}
	f.mu.Unlock()
	f.flush()
}

func (f *flow) flush() {
	f.t.Helper()
	if err := f.cl.Flush(context.Background()); err != nil {
		f.t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		f.t.Fatalf("producing: %v", f.err)
	}
}

func (f *flow) resume() {
	f.mu.Lock()
	f.running = true
	f.mu.Unlock()
}

// pause stops the flow and waits for what it produced.
func (f *flow) pause() {
	f.mu.Lock()
	f.running = false
	f.mu.Unlock()
	<-f.tick // the loop is between ticks: nothing more goes out
	f.flush()
}

func (f *flow) stop() {
	f.pause()
	close(f.quit)
	<-f.done
}

// roundWhile queues round r, runs act while its calls go out, and waits
// until they all have.
func (f *flow) roundWhile(r int, act func()) {
	f.t.Helper()
	specs := f.w.round()
	f.mu.Lock()
	f.queue = append(f.queue, specs...)
	f.gap = max(int(float64(f.sc.rate)*f.sc.roundFor.Seconds())/len(specs), 1)
	f.nextAt = f.w.n
	running := f.running
	f.mu.Unlock()
	if !running {
		f.t.Fatalf("round %d queued with the flow paused", r)
	}
	if act != nil {
		act()
	}
	deadline := time.Now().Add(f.sc.roundFor + time.Minute)
	for {
		f.mu.Lock()
		left, n := len(f.queue), f.w.n
		f.mu.Unlock()
		if left == 0 {
			f.t.Logf("round %d produced (%d records so far)", r, n)
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("round %d: %d calls still queued", r, left)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (f *flow) round(r int) { f.roundWhile(r, nil) }

// drill runs the replicas as child processes (TestServiceChild) and
// watches the group.
type drill struct {
	t       *testing.T
	brokers []string
	env     []string
	cfg     service.Config
	adm     *kadm.Client
	logDir  string

	mu       sync.Mutex
	replicas map[string]*replica
	restores []restored
	events   []string // what the drill did, for the summary
}

// replica is one child process; a restart keeps its state directory.
type replica struct {
	name, dir string
	cmd       *exec.Cmd
	exited    chan struct{}
	stopping  bool
	starts    int
}

// restored is a "partition restored" line of a replica's log.
type restored struct {
	replica   string
	partition int32
	records   int64
}

func newDrill(t *testing.T, brokers []string, prefix string, cfg service.Config) *drill {
	d := &drill{t: t, brokers: brokers, cfg: cfg, adm: kadm.NewClient(servicetest.Client(t, brokers)), logDir: t.TempDir(),
		replicas: map[string]*replica{}}
	d.env = append(os.Environ(), "BW_CHILD_BROKERS="+strings.Join(brokers, ","), "BW_CHILD_PREFIX="+prefix,
		"BW_CHILD_SESSION="+drillSession.String())
	t.Cleanup(func() {
		d.mu.Lock()
		var live []*replica
		for _, r := range d.replicas {
			if r.cmd != nil {
				r.stopping = true
				live = append(live, r)
			}
		}
		d.mu.Unlock()
		for _, r := range live {
			r.cmd.Process.Signal(syscall.SIGKILL)
			<-r.exited
		}
	})
	return d
}

func (d *drill) note(format string, args ...any) {
	d.t.Helper()
	d.mu.Lock()
	d.events = append(d.events, fmt.Sprintf(format, args...))
	d.mu.Unlock()
	d.t.Logf(format, args...)
}

func (d *drill) running(name string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.replicas[name]
	return r != nil && r.cmd != nil
}

// start starts replica name, on its state directory when it ran before.
func (d *drill) start(name string) {
	d.t.Helper()
	d.mu.Lock()
	r := d.replicas[name]
	if r == nil {
		r = &replica{name: name, dir: filepath.Join(d.t.TempDir(), name)}
		d.replicas[name] = r
	}
	if r.cmd != nil {
		d.mu.Unlock()
		d.t.Fatalf("%s is running", name)
	}
	r.starts++
	d.mu.Unlock()
	logf, err := os.OpenFile(filepath.Join(d.logDir, name+".log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		d.t.Fatal(err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		d.t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestServiceChild$", "-test.count=1")
	cmd.Env = append(slices.Clone(d.env), "BW_CHILD_INSTANCE="+name, "BW_CHILD_STATE="+r.dir)
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	pw.Close()
	exited := make(chan struct{})
	d.mu.Lock()
	r.cmd, r.exited, r.stopping = cmd, exited, false
	d.mu.Unlock()
	go func() {
		defer logf.Close()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logf, line)
			if p, n, ok := parseRestored(line); ok {
				d.mu.Lock()
				d.restores = append(d.restores, restored{replica: name, partition: p, records: n})
				d.mu.Unlock()
			}
		}
		pr.Close()
	}()
	go func() {
		err := cmd.Wait()
		d.mu.Lock()
		unexpected := !r.stopping
		r.cmd = nil
		d.mu.Unlock()
		if unexpected {
			d.t.Errorf("%s exited on its own: %v (log %s)", name, err, filepath.Join(d.logDir, name+".log"))
		}
		close(exited)
	}()
	d.note("started %s (start %d)", name, r.starts)
}

// term stops replica name with SIGTERM and asserts that it stops cleanly.
func (d *drill) term(name string) {
	d.t.Helper()
	cmd, exited := d.stopping(name)
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		cmd.Process.Signal(syscall.SIGKILL)
		<-exited
		d.t.Fatalf("%s did not stop within 30s of SIGTERM", name)
	}
	if !cmd.ProcessState.Success() {
		d.t.Errorf("%s stopped on SIGTERM with %v", name, cmd.ProcessState)
	}
	d.note("stopped %s (SIGTERM)", name)
}

// kill kills replica name with SIGKILL.
func (d *drill) kill(name string) {
	d.t.Helper()
	cmd, exited := d.stopping(name)
	cmd.Process.Signal(syscall.SIGKILL)
	<-exited
	d.note("killed %s (SIGKILL)", name)
}

func (d *drill) stopping(name string) (*exec.Cmd, chan struct{}) {
	d.t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.replicas[name]
	if r == nil || r.cmd == nil {
		d.t.Fatalf("%s is not running", name)
	}
	r.stopping = true
	return r.cmd, r.exited
}

// parseRestored reads a replica's "partition restored" log line.
func parseRestored(line string) (p int32, records int64, ok bool) {
	if !strings.Contains(line, `msg="partition restored"`) {
		return 0, 0, false
	}
	var havePart, haveRecs bool
	for _, f := range strings.Fields(line) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "partition":
			n, err := strconv.ParseInt(v, 10, 32)
			p, havePart = int32(n), err == nil
		case "changelog_records":
			n, err := strconv.ParseInt(v, 10, 64)
			records, haveRecs = n, err == nil
		}
	}
	return p, records, havePart && haveRecs
}

// settle waits until the group is stable with exactly the replicas named
// and every partition of its topics assigned once, and returns the owner of
// each partition of the events topic.
func (d *drill) settle(names ...string) map[int32]string {
	d.t.Helper()
	topics := append(d.cfg.Topics.Inputs(), d.cfg.Topics.Events)
	want := slices.Sorted(slices.Values(names))
	start := time.Now()
	var last string
	for time.Since(start) < 2*time.Minute {
		owners, why := d.assignment(topics, want)
		if why == "" {
			d.note("group settled on %s after %s: events partitions %v", strings.Join(want, ", "),
				time.Since(start).Round(100*time.Millisecond), owners)
			return owners
		}
		last = why
		time.Sleep(200 * time.Millisecond)
	}
	d.dumpLogs()
	d.t.Fatalf("the group did not settle on %v within 2m: %s", want, last)
	return nil
}

// assignment describes the group: the owners of the events partitions, or
// why it is not (yet) what settle waits for.
func (d *drill) assignment(topics, want []string) (map[int32]string, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	gs, err := d.adm.DescribeGroups(ctx, d.cfg.Group)
	if err != nil {
		return nil, err.Error()
	}
	g, ok := gs[d.cfg.Group]
	if !ok || g.Err != nil {
		return nil, fmt.Sprintf("group not described: %v", g.Err)
	}
	if g.State != "Stable" {
		return nil, "group " + g.State
	}
	var members []string
	count := map[string]map[int32]int{}
	owners := map[int32]string{}
	for _, m := range g.Members {
		if m.InstanceID == nil {
			return nil, "a member without an instance id"
		}
		members = append(members, *m.InstanceID)
		c, ok := m.Assigned.AsConsumer()
		if !ok {
			return nil, "an assignment that is not a consumer's"
		}
		for _, tp := range c.Topics {
			if count[tp.Topic] == nil {
				count[tp.Topic] = map[int32]int{}
			}
			for _, p := range tp.Partitions {
				count[tp.Topic][p]++
				if tp.Topic == d.cfg.Topics.Events {
					owners[p] = *m.InstanceID
				}
			}
		}
	}
	sort.Strings(members)
	if !slices.Equal(members, want) {
		return nil, fmt.Sprintf("members %v", members)
	}
	for _, tp := range topics {
		for p := int32(0); p < drillPartitions; p++ {
			if n := count[tp][p]; n != 1 {
				return nil, fmt.Sprintf("%s/%d assigned %d times", tp, p, n)
			}
		}
	}
	return owners, ""
}

// checkMoved asserts that every partition of the events topic has another
// owner now than in learnt, and that its owner restored it from the
// changelog with records in it.
func (d *drill) checkMoved(learnt, now map[int32]string) {
	d.t.Helper()
	restoredBy := func(p int32) []int64 {
		d.mu.Lock()
		defer d.mu.Unlock()
		var recs []int64
		for _, r := range d.restores {
			if r.replica == now[p] && r.partition == p {
				recs = append(recs, r.records)
			}
		}
		return recs
	}
	// The owners log their restores once done, after the group settled.
	deadline := time.Now().Add(time.Minute)
	for p := int32(0); p < drillPartitions; p++ {
		if learnt[p] == now[p] {
			d.t.Errorf("events partition %d did not move: %s owned it when the baseline was learnt and owns it now", p, now[p])
			continue
		}
		some := func(ns []int64) bool { return slices.ContainsFunc(ns, func(n int64) bool { return n > 0 }) }
		recs := restoredBy(p)
		for !some(recs) && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
			recs = restoredBy(p)
		}
		if !some(recs) {
			d.t.Errorf("events partition %d moved from %s to %s, which restored it with changelog records %v: want some > 0",
				p, learnt[p], now[p], recs)
			continue
		}
		d.t.Logf("events partition %d: learnt on %s, taken over by %s (restored with changelog records %v)", p, learnt[p], now[p], recs)
	}
}

// drain waits until the group has consumed everything (servicetest.Drain),
// or fails the test with the group's offsets and the replicas' logs.
func (d *drill) drain(timeout time.Duration) {
	d.t.Helper()
	ctx := context.Background()
	if err := service.WaitCaughtUp(ctx, d.adm, d.cfg, timeout); err != nil {
		topics := append(d.cfg.Topics.Inputs(), d.cfg.Topics.Events)
		ends, _ := d.adm.ListCommittedOffsets(ctx, topics...)
		committed, _ := d.adm.FetchOffsets(ctx, d.cfg.Group)
		ends.Each(func(o kadm.ListedOffset) {
			c, _ := committed.Lookup(o.Topic, o.Partition)
			if o.Offset > 0 {
				d.t.Logf("%s/%d: end %d, committed %d", o.Topic, o.Partition, o.Offset, c.At)
			}
		})
		d.dumpLogs()
		d.t.Fatal(err)
	}
}

// waitFirstSeen waits until the alerts topic (read_committed) holds
// bedrock-model-enumeration-first-seen for every enumerator.
func (d *drill) waitFirstSeen(w *drillWorkload) {
	d.t.Helper()
	cl := servicetest.Client(d.t, d.brokers, kgo.ConsumeTopics(d.cfg.Topics.Alerts), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	defer cl.Close()
	want := map[string]bool{}
	for e := 0; e < w.sc.enumerators; e++ {
		want[w.enumerator(e).arn] = true
	}
	start := time.Now()
	for len(want) > 0 && time.Since(start) < time.Minute {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) {
			var a servicetest.Alert
			if json.Unmarshal(r.Value, &a) == nil && a.RuleID == ruleEnumFirstSeen {
				delete(want, a.Subject)
			}
		})
	}
	if len(want) > 0 {
		d.dumpLogs()
		d.t.Fatalf("%d enumerators still without %s after %s", len(want), ruleEnumFirstSeen, time.Since(start).Round(time.Second))
	}
	d.note("round 1's first-seen alerts are out after %s", time.Since(start).Round(100*time.Millisecond))
}

// summary counts the restores.
func (d *drill) summary() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var n, recs int64
	for _, r := range d.restores {
		n++
		recs += r.records
	}
	return fmt.Sprintf("%d partition restores applying %d changelog records; %s", n, recs, strings.Join(d.events, "; "))
}

// dumpDLQ logs what the replicas dead-lettered, by reason, and the first
// late events: a lost windowed alert is most often events that came behind
// their partition's watermark.
func (d *drill) dumpDLQ() {
	d.t.Helper()
	recs := servicetest.ReadRecords(d.t, d.brokers, d.cfg.Topics.DLQ, 1<<30, 0, 5*time.Second)
	byReason := map[string]int{}
	var late []string
	for _, r := range recs {
		h := map[string]string{}
		for _, kv := range r.Headers {
			h[kv.Key] = string(kv.Value)
		}
		reason := h[service.HeaderReason]
		byReason[reason]++
		if reason == service.ReasonLate && len(late) < 20 {
			late = append(late, fmt.Sprintf("%s/%s@%s: %s", h[service.HeaderTopic], h[service.HeaderPartition], h[service.HeaderOffset], h[service.HeaderDetail]))
		}
	}
	d.t.Logf("DLQ: %d records, by reason %v; first late:\n%s", len(recs), byReason, strings.Join(late, "\n"))
}

// dumpLogs logs the end of each replica's log.
func (d *drill) dumpLogs() {
	d.t.Helper()
	files, _ := filepath.Glob(filepath.Join(d.logDir, "*.log"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) > 40 {
			lines = lines[len(lines)-40:]
		}
		d.t.Logf("== %s (last %d lines)\n%s", filepath.Base(f), len(lines), strings.Join(lines, "\n"))
	}
}
