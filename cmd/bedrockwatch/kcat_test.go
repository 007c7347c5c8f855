package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bedrockwatch/bedrockwatch/service"
	"github.com/bedrockwatch/bedrockwatch/service/servicetest"
)

// kcatBuffer is an io.Writer the test reads while another goroutine or
// process writes to it.
type kcatBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *kcatBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *kcatBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// kcatDevCommands is what dev prints: the broker address, its kcat command
// lines by topic, and the `bedrockwatch alerts` lines.
type kcatDevCommands struct {
	addr    string
	produce map[string]string
	consume map[string]string
	alerts  []string
}

var (
	kcatAddrRE  = regexp.MustCompile(`Kafka on (\S+), state in `)
	kcatTopicRE = regexp.MustCompile(` -t (\S+)`)
	kcatInputRE = regexp.MustCompile(` < (\S+)$`)
)

func parseKcatDevCommands(t *testing.T, out string) kcatDevCommands {
	t.Helper()
	m := kcatAddrRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("dev printed no broker address:\n%s", out)
	}
	c := kcatDevCommands{addr: m[1], produce: map[string]string{}, consume: map[string]string{}}
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "bedrockwatch alerts ") {
			c.alerts = append(c.alerts, line)
		}
		if !strings.HasPrefix(line, "kcat ") {
			continue
		}
		tm := kcatTopicRE.FindStringSubmatch(line)
		if tm == nil {
			t.Fatalf("printed kcat command names no topic: %s", line)
		}
		if !strings.Contains(line, " -b "+c.addr+" ") {
			t.Errorf("printed kcat command does not name the broker %s: %s", c.addr, line)
		}
		switch {
		case strings.HasPrefix(line, "kcat -P "):
			c.produce[tm[1]] = line
		case strings.HasPrefix(line, "kcat -C "):
			c.consume[tm[1]] = line
		default:
			t.Fatalf("printed kcat command neither produces nor consumes: %s", line)
		}
	}
	return c
}

// runKcatProduce writes lines to the file the printed produce command line
// reads and runs the line in dir, as a shell would.
func runKcatProduce(ctx context.Context, t *testing.T, dir, line string, lines []string) {
	t.Helper()
	in := kcatInputRE.FindStringSubmatch(line)
	if in == nil {
		t.Fatalf("printed produce command reads no file: %s", line)
	}
	if err := os.WriteFile(filepath.Join(dir, in[1]), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "sh", "-c", line)
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil || bytes.Contains(out, []byte("ERROR")) {
		t.Fatalf("%s: %v\n%s", line, err, out)
	}
	if len(bytes.TrimSpace(out)) > 0 {
		t.Logf("%s:\n%s", line, out)
	}
}

// kcatConsumer is a printed consume command running in the background.
type kcatConsumer struct {
	cmd    *exec.Cmd
	lines  chan string
	stderr kcatBuffer
	once   sync.Once
}

// startKcatConsumer starts the printed consume command line as a shell
// would; its output lines arrive on lines. stop ends it, at the latest
// when the test ends.
func startKcatConsumer(ctx context.Context, t *testing.T, line string) *kcatConsumer {
	t.Helper()
	c := &kcatConsumer{lines: make(chan string, 64)}
	c.cmd = exec.CommandContext(ctx, "sh", "-c", "exec "+line)
	c.cmd.Cancel = func() error { return c.cmd.Process.Signal(os.Interrupt) }
	c.cmd.WaitDelay = 5 * time.Second
	c.cmd.Stderr = &c.stderr
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	go func() {
		defer close(c.lines)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
	}()
	t.Cleanup(c.stop)
	return c
}

// collect returns the lines that came until want had come and then quiet
// passed without another, or until deadline, or until kcat ended.
func (c *kcatConsumer) collect(want int, quiet time.Duration, deadline time.Time) []string {
	var got []string
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		var quietC <-chan time.Time
		if len(got) >= want {
			quietC = time.After(quiet)
		}
		select {
		case l, ok := <-c.lines:
			if !ok {
				return got
			}
			got = append(got, l)
		case <-quietC:
			return got
		case <-timer.C:
			return got
		}
	}
}

// stop interrupts kcat, as Ctrl-C would, and waits for it to exit.
func (c *kcatConsumer) stop() {
	c.once.Do(func() {
		c.cmd.Process.Signal(os.Interrupt)
		for range c.lines {
		}
		c.cmd.Wait()
	})
}

// TestKcatDev is the user journey of `bedrockwatch dev` with a Kafka client
// nobody here wrote: the kcat commands dev prints, run as printed, produce
// the demo inputs (each document one line) and read back the alerts and
// the dead letters. The alerts are those replay raises on the same inputs,
// each once.
//
// The documents go in one at a time, each consumed before the next, and
// dev runs with --input-idle 10ms, as `dev --demo` does: an input partition
// read to its end is quiet at once, so the service judges the deliberately
// late events of the demo (the Splunk file runs backwards) as replay's
// single stream does. With the default 2 s a partition read in the last 2 s
// holds the watermark back and fewer events are late.
func TestKcatDev(t *testing.T) {
	if _, err := exec.LookPath("kcat"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("kcat is not installed and CI=true: install it (apt-get install kcat; .ci/run does)")
		}
		t.Skip("kcat is not installed (apt-get install kcat); with CI=true this is a failure")
	}
	const inputIdle = 10 * time.Millisecond
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// dev in-process, on a port the system picks, until the test ends.
	var stdout, stderr kcatBuffer
	devCtx, stopDev := context.WithCancel(ctx)
	devDone := make(chan int, 1)
	stateDir := t.TempDir()
	go func() {
		devDone <- run(devCtx, []string{"dev", "--kafka-addr", "127.0.0.1:0", "--metrics-addr", "",
			"--state-dir", stateDir, "--instance-id", "kcat-test", "--input-idle", inputIdle.String()}, &stdout, &stderr)
	}()
	devStopped := false
	stop := func() {
		if devStopped {
			return
		}
		devStopped = true
		stopDev()
		select {
		case code := <-devDone:
			if code != 0 && !t.Failed() {
				t.Errorf("dev exited %d when stopped", code)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("dev did not stop within 30s of its context ending")
		}
	}
	defer func() {
		stop()
		if t.Failed() {
			t.Logf("dev stderr:\n%s", stderr.String())
		}
	}()
	for !strings.Contains(stdout.String(), "Ctrl-C stops.") {
		select {
		case code := <-devDone:
			devStopped = true
			t.Fatalf("dev exited %d before printing its commands:\n%s", code, stdout.String())
		case <-ctx.Done():
			t.Fatalf("dev printed no commands:\n%s", stdout.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	printed := parseKcatDevCommands(t, stdout.String())
	t.Logf("dev printed:\n%s", stdout.String())

	// The commands name dev's topics and the broker it listens on.
	cfg := servicetest.Config(t, []string{printed.addr}, "", "kcat-test", t.TempDir())
	cfg.InputIdle = inputIdle
	tp := cfg.Topics
	for _, topic := range tp.Inputs() {
		if printed.produce[topic] == "" {
			t.Errorf("dev printed no kcat command producing to input topic %s", topic)
		}
	}
	if len(printed.produce) != len(tp.Inputs()) {
		t.Errorf("dev printed produce commands for %d topics, want the %d inputs %v", len(printed.produce), len(tp.Inputs()), tp.Inputs())
	}
	for _, topic := range []string{tp.Alerts, tp.DLQ} {
		line := printed.consume[topic]
		if line == "" {
			t.Errorf("dev printed no kcat command reading %s", topic)
			continue
		}
		// The service writes both topics in transactions: records of an
		// aborted one must not show.
		if !strings.Contains(line, " -X isolation.level=read_committed ") {
			t.Errorf("printed command reading %s does not read committed records only: %s", topic, line)
		}
		// Piped (to jq, or to this test) kcat's output is block-buffered
		// without -u: an alert would wait for the next few kilobytes.
		if !strings.Contains(line, " -u") {
			t.Errorf("printed command reading %s buffers its output when piped (no -u): %s", topic, line)
		}
	}
	for topic, line := range printed.produce {
		// Keys hashed as the Java client and franz-go hash them.
		if strings.Contains(line, " -K") && !strings.Contains(line, " -X partitioner=murmur2_random ") {
			t.Errorf("printed keyed command producing to %s does not hash keys as Java clients do: %s", topic, line)
		}
	}
	if want := "bedrockwatch alerts --brokers " + printed.addr + " --from-beginning"; len(printed.alerts) != 1 || printed.alerts[0] != want {
		t.Errorf("printed alerts commands %q, want %q", printed.alerts, want)
	}
	if t.Failed() {
		t.FailNow()
	}

	// The demo documents, one line each (keyed where the printed command
	// takes a key), in replay's order: each produced by the printed command
	// for its topic and consumed before the next, so that the service reads
	// them as replay reads the files.
	files, err := filepath.Glob("../../testdata/demo/*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no demo files: %v", err)
	}
	adm := kadm.NewClient(servicetest.Client(t, []string{printed.addr}))
	work := t.TempDir()
	var all [][]byte
	keys := map[string]bool{} // produced with a keyed command
	nKeyed := 0
	for _, f := range files {
		line := printed.produce[servicetest.TopicFor(cfg, f)]
		for _, m := range servicetest.Messages(t, f) {
			all = append(all, m)
			var one bytes.Buffer
			if err := json.Compact(&one, m); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			rec := one.String()
			if strings.Contains(line, " -K") {
				k := string(servicetest.Key(m))
				keys[k] = true
				nKeyed++
				rec = k + "\t" + rec
			}
			runKcatProduce(ctx, t, work, line, []string{rec})
			if err := service.WaitCaughtUp(ctx, adm, cfg, 20*time.Second); err != nil {
				t.Fatal(err)
			}
		}
	}
	produced := time.Now()
	want := servicetest.Replay(t, cfg, all)
	if len(want) == 0 {
		t.Fatal("replay raised no alerts on the demo")
	}

	// The printed alerts command shows each of replay's alerts once, one
	// CloudEvent a line, and nothing else.
	alerts := startKcatConsumer(ctx, t, printed.consume[tp.Alerts])
	lines := alerts.collect(len(want), 1500*time.Millisecond, time.Now().Add(20*time.Second))
	alerts.stop()
	var got []servicetest.Alert
	for _, l := range lines {
		var ev struct {
			servicetest.Alert
			SpecVersion string `json:"specversion"`
			Type        string `json:"type"`
			Source      string `json:"source"`
			Data        struct {
				Rule struct {
					ID string `json:"id"`
				} `json:"rule"`
			} `json:"data"`
		}
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Errorf("alert line is not a CloudEvent: %v: %s", err, l)
			continue
		}
		if ev.SpecVersion != "1.0" || ev.Type != "io.bedrockwatch.alert.v1" || ev.ID == "" ||
			ev.Source != "bedrockwatch/"+ev.RuleID || ev.Data.Rule.ID != ev.RuleID {
			t.Errorf("alert line is not a bedrockwatch alert CloudEvent: %s", l)
		}
		got = append(got, ev.Alert)
	}
	servicetest.Mismatch(t, want, got)
	if len(got) != len(want) {
		t.Errorf("kcat read %d alerts, replay raised %d", len(got), len(want))
	}
	if t.Failed() {
		t.Logf("kcat stderr:\n%s", alerts.stderr.String())
		rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
		dump, _ := exec.CommandContext(rctx, "kcat", "-C", "-b", printed.addr, "-t", tp.Alerts, "-o", "beginning", "-e", "-f", "%p %o %k %T\n").CombinedOutput()
		rcancel()
		t.Logf("every record of %s, committed or not (partition offset key timestamp):\n%s", tp.Alerts, dump)
	}
	alertsRead := time.Now()

	// A line that is not JSON, produced with the printed CloudTrail command,
	// comes back from the printed dead-letter command with its reason and
	// origin in headers.
	ctLine := printed.produce[tp.CloudTrail]
	if !strings.Contains(ctLine, " -K") {
		t.Fatalf("the printed CloudTrail command takes no key: %s", ctLine)
	}
	const badKey = "kcat-test-key"
	runKcatProduce(ctx, t, work, ctLine, []string{badKey + "\tnot json"})
	nKeyed++
	dlq := startKcatConsumer(ctx, t, printed.consume[tp.DLQ])
	letters := dlq.collect(1, time.Second, time.Now().Add(15*time.Second))
	dlq.stop()
	// Besides bad input the DLQ holds copies of late events (the demo's
	// prompt-injection file is newest first), reason "late".
	var dead []string
	late := 0
	for _, l := range letters {
		if strings.Contains(l, "bw-reason=late") {
			late++
			continue
		}
		dead = append(dead, l)
	}
	t.Logf("dead letters: %d, and %d late copies", len(dead), late)
	if len(dead) != 1 || !strings.HasSuffix(dead[0], " not json") ||
		!strings.Contains(dead[0], "bw-reason=invalid_json") || !strings.Contains(dead[0], "bw-topic="+tp.CloudTrail) {
		t.Errorf("dead letters read with the printed command: %q, want the line that is not JSON with its reason and topic; kcat stderr:\n%s", dead, dlq.stderr.String())
	}

	// The keyed command put each key on the partition Java clients and
	// franz-go hash it to.
	rctx, rcancel := context.WithTimeout(ctx, 15*time.Second)
	defer rcancel()
	out, err := exec.CommandContext(rctx, "kcat", "-C", "-b", printed.addr, "-t", tp.CloudTrail, "-o", "beginning", "-e", "-q", "-f", "%p\t%k\n").Output()
	if err != nil {
		t.Fatalf("reading %s back: %v", tp.CloudTrail, err)
	}
	td, err := adm.ListTopics(rctx, tp.CloudTrail)
	if err != nil || td[tp.CloudTrail].Err != nil {
		t.Fatalf("describing %s: %v %v", tp.CloudTrail, err, td[tp.CloudTrail].Err)
	}
	parts := len(td[tp.CloudTrail].Partitions)
	if parts < 2 {
		t.Fatalf("%s has %d partition(s): too few to tell where keys go", tp.CloudTrail, parts)
	}
	hash := kgo.StickyKeyPartitioner(nil).ForTopic(tp.CloudTrail)
	n := 0
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		ps, k, ok := strings.Cut(l, "\t")
		p, err := strconv.Atoi(ps)
		if !ok || err != nil {
			t.Fatalf("kcat printed %q, want partition<TAB>key", l)
		}
		if !keys[k] && k != badKey {
			t.Errorf("%s holds key %q, not one produced", tp.CloudTrail, k)
		}
		if w := hash.Partition(&kgo.Record{Key: []byte(k)}, parts); p != w {
			t.Errorf("key %q is on partition %d of %s; Java clients and franz-go hash it to %d", k, p, tp.CloudTrail, w)
		}
		n++
	}
	if n != nKeyed {
		t.Errorf("%s holds %d records, want the %d produced", tp.CloudTrail, n, nKeyed)
	}

	stop()
	t.Logf("%d documents produced with kcat in %s; %d alerts read as replay raised them in %s; dead letter read in %s; %s in all",
		len(all), produced.Sub(start).Round(time.Millisecond), len(got), alertsRead.Sub(produced).Round(time.Millisecond),
		time.Since(alertsRead).Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}
