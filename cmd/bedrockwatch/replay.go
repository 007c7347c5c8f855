package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/bedrockwatch/bedrockwatch/processor"
	"github.com/bedrockwatch/bedrockwatch/processor/rules"
	"github.com/bedrockwatch/bedrockwatch/schemas"
	"github.com/bedrockwatch/bedrockwatch/state"
)

const replayHelp = `
Replay runs the same engine as the service over files: CloudTrail (bare records,
S3 log files {"Records":[…]}, JSON arrays, EventBridge, CloudWatch Logs
subscription messages, LookupEvents rows), Bedrock model-invocation logs and
endpoint process events (ECS, OCSF, Sysmon), as JSON lines or whole JSON
documents, gzip-compressed or not. "-" reads standard input.

Alerts go to standard output as CloudEvents, one JSON object a line; the same
input always gives the same output, byte for byte. Standard error gets a
progress line on long inputs and a summary: records by source, what was
filtered, skipped or malformed (with file:line), late events, and alerts by
rule. The end of the input is the end of the stream: open suppression periods
close and emit their follow-up alerts.

State. Without --state-dir the engine's state (sequence candidates, windows,
suppression periods, first-seen history, baselines and the event-time clock)
lives in memory and ends with the replay. With --state-dir DIR it is kept in
a Badger store in DIR, created if needed, and the end of the input is NOT the
end of the stream: open sequences, windows and suppression periods stay open
in DIR, so that the next replay with the same --state-dir continues exactly
where this one stopped, in event time. Give --flush to the last part to end
the stream there. Splitting a replay:

  bedrockwatch replay --state-dir st january/*.json.gz  > alerts-1.jsonl
  bedrockwatch replay --state-dir st --flush february/*.json.gz > alerts-2.jsonl

gives the same alerts as one replay of both months. Files of one part must
come after those of the previous part in the order you would give them to a
single replay. One process at a time may use a state directory.

Bad input never stops a replay. The exit status is 0 unless a file cannot be
read (1) or the command line is wrong (2).

Memory. Replay runs Go's garbage collector at GOGC=400 (heap up to five times
the live state, for about a fifth less CPU); set GOGC in the environment to
choose another value, e.g. GOGC=100 on a small machine with a large state.`

type replayFlags struct {
	config       string
	rulesDir     string
	lateness     time.Duration
	promptChars  int
	maxEvidence  int
	maxDocBytes  int
	providers    listFlag
	progress     bool
	reportLimit  int
	allProviders bool
	stateDir     string
	flush        bool
	output       string
	prices       string
}

func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	var f replayFlags
	dc := processor.DefaultReplayConfig()
	fs := newFlagSet("replay", "replay [flags] FILE...", replayHelp, stderr)
	fs.StringVar(&f.config, "config", "", "YAML file of settings (keys are flag names)")
	fs.StringVar(&f.rulesDir, "rules", "", "directory of rule files that add to or override the built-in pack by id")
	fs.DurationVar(&f.lateness, "allowed-lateness", dc.Engine.AllowedLateness, "how late an event may arrive behind the newest and still be on time")
	fs.IntVar(&f.promptChars, "prompt-chars", dc.Engine.PromptChars, "characters of prompt quoted in alerts of rules that include prompts (secrets are masked)")
	fs.IntVar(&f.maxEvidence, "max-evidence", dc.Engine.MaxEvidence, "evidence entries per alert (the total is always counted)")
	fs.IntVar(&f.maxDocBytes, "max-document-bytes", dc.MaxDocumentBytes, "largest JSON document read whole; larger ones are reported and skipped")
	f.providers = append(listFlag{}, dc.Decode.CloudTrailProviders...)
	fs.Var(&f.providers, "cloudtrail-providers", "comma-separated eventSource values whose CloudTrail records are evaluated; others are counted as filtered")
	fs.BoolVar(&f.allProviders, "all-providers", false, "evaluate CloudTrail records of every service (for custom rules on other services)")
	fs.BoolVar(&f.progress, "progress", true, "print a progress line every 2 seconds on long inputs")
	fs.IntVar(&f.reportLimit, "report-limit", 10, "malformed records reported individually per file (all are counted)")
	fs.StringVar(&f.stateDir, "state-dir", "", "directory of a Badger store that keeps the state between replays (created if needed); open sequences, windows and suppression periods then stay open at the end of input for the next replay, unless --flush. Empty: in-memory state, and the end of input ends the stream")
	fs.BoolVar(&f.flush, "flush", false, "with --state-dir: the end of input ends the stream, as without --state-dir: open windows and suppression periods close and emit what they hold. Give it to the last part of a split replay")
	fs.StringVar(&f.output, "output", outputCloudEvents, "alert format on stdout: cloudevents (one JSON CloudEvent a line) or text (one readable line an alert)")
	fs.StringVar(&f.prices, "prices", "", pricesUsage)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	files := fs.Args()
	if len(files) == 0 {
		return usagef("name at least one FILE (or - for standard input)")
	}
	defer processor.TuneGCForReplay()()
	rs, err := rules.Load(f.rulesDir)
	if err != nil {
		printProblems(stderr, err)
		return errReported
	}
	cfg := dc
	cfg.Engine.AllowedLateness = f.lateness
	cfg.Engine.PromptChars = f.promptChars
	cfg.Engine.MaxEvidence = f.maxEvidence
	cfg.MaxDocumentBytes = f.maxDocBytes
	if cfg.Engine.Prices, err = loadPrices(f.prices); err != nil {
		return usagef("%v", err)
	}
	cfg.Decode.CloudTrailProviders = f.providers
	if f.allProviders {
		cfg.Decode.CloudTrailProviders = nil
	}

	out := bufio.NewWriterSize(stdout, 256<<10)
	defer out.Flush()
	aw, err := newAlertWriter(out, f.output)
	if err != nil {
		return err
	}
	var emitErr error
	emit := func(a *schemas.Alert) {
		if emitErr == nil {
			emitErr = aw.write(a)
		}
	}
	var store processor.Store = state.NewMemory()
	var view *state.View // with --state-dir
	if f.stateDir != "" {
		db, err := openStateDir(f.stateDir, stderr)
		if err != nil {
			return err
		}
		defer func() {
			if cerr := db.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("--state-dir %s: %w", f.stateDir, cerr)
			}
		}()
		view = db.Partition(0)
		store = view
	}
	rp, err := processor.NewReplayer(rs, store, cfg, emit)
	if err != nil {
		return err
	}
	reported := map[string]int{}
	rp.OnMalformed = func(file string, line int, err error) {
		reported[file]++
		if reported[file] <= f.reportLimit {
			fmt.Fprintf(stderr, "%s:%d: %v\n", file, line, err)
		}
	}
	stopProgress := func() {}
	if f.progress {
		stopProgress = startProgress(stderr, rp)
	}
	failed := 0
	for _, name := range files {
		if ctx.Err() != nil {
			break
		}
		if err := replayOne(rp, name); err != nil {
			fmt.Fprintf(stderr, "bedrockwatch replay: %v\n", err)
			failed++
		}
	}
	stopProgress()
	// Without --state-dir the end of input ends the stream. With it, the
	// state waits for the next replay unless --flush (and an interrupted
	// replay has not reached the end of its input).
	if err := rp.Finish(view == nil || (f.flush && ctx.Err() == nil)); err != nil {
		return err
	}
	if view != nil {
		if err := view.WriteCheckpoint(state.Checkpoint{ChangelogOffset: -1}); err != nil {
			return fmt.Errorf("--state-dir %s: saving the state: %w", f.stateDir, err)
		}
		if ctx.Err() != nil {
			fmt.Fprintf(stderr, "bedrockwatch replay: interrupted: %s keeps the state of the records read so far; replaying them again would count them twice\n", f.stateDir)
		}
	}
	if emitErr != nil {
		return fmt.Errorf("writing alerts: %w", emitErr)
	}
	if err := out.Flush(); err != nil {
		return fmt.Errorf("writing alerts: %w", err)
	}
	for _, file := range slices.Sorted(maps.Keys(reported)) { // same input, same stderr
		if n := reported[file]; n > f.reportLimit {
			fmt.Fprintf(stderr, "%s: %d more malformed record(s) not shown (--report-limit)\n", file, n-f.reportLimit)
		}
	}
	printSummary(stderr, rp.Stats(), failed)
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted: %w", ctx.Err())
	}
	if failed > 0 {
		return errReported
	}
	return nil
}

// openStateDir opens the Badger store of --state-dir, checking that its
// state is of a format this build reads.
func openStateDir(dir string, stderr io.Writer) (*state.Badger, error) {
	opts := state.DefaultOptions()
	opts.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	db, err := state.Open(dir, opts)
	if errors.Is(err, state.ErrLocked) {
		return nil, fmt.Errorf("--state-dir %s is in use by another process (another replay or the service?); wait for it to finish or choose another directory", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("--state-dir %s: %w", dir, err)
	}
	if _, _, err := db.Partition(0).ReadCheckpoint(); err != nil {
		db.Close()
		if errors.Is(err, state.ErrFormat) {
			return nil, fmt.Errorf("--state-dir %s holds state of another bedrockwatch version (%v); replay into a new directory", dir, err)
		}
		return nil, fmt.Errorf("--state-dir %s: %w", dir, err)
	}
	return db, nil
}

func replayOne(rp *processor.Replayer, name string) error {
	if name == "-" {
		return rp.ReadFile("-", os.Stdin)
	}
	fh, err := os.Open(name)
	if err != nil {
		return err
	}
	defer fh.Close()
	if st, err := fh.Stat(); err == nil && st.IsDir() {
		return fmt.Errorf("%s is a directory (name the files, e.g. %s/*)", name, strings.TrimRight(name, "/"))
	}
	return rp.ReadFile(name, fh)
}

// startProgress prints a progress line every 2 seconds until stopped.
func startProgress(w io.Writer, rp *processor.Replayer) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(finished)
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				b, n := rp.Progress()
				secs := time.Since(start).Seconds()
				fmt.Fprintf(w, "replay: %s read, %d records (%.0f records/s)\n", humanBytes(b), n, float64(n)/secs)
			}
		}
	}()
	return func() { close(done); <-finished }
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func printSummary(w io.Writer, s processor.ReplayStats, failed int) {
	var records int64
	for _, m := range s.Records {
		for _, n := range m {
			records += n
		}
	}
	secs := s.Elapsed.Seconds()
	if secs <= 0 {
		secs = 1e-9
	}
	fmt.Fprintf(w, "\nreplay summary: %d file(s)", s.Files)
	if failed > 0 {
		fmt.Fprintf(w, " (%d unreadable)", failed)
	}
	fmt.Fprintf(w, ", %s, %d document(s), %d record(s) in %s (%.0f records/s, %.1f MB/s)\n",
		humanBytes(s.Bytes), s.Documents, records, s.Elapsed.Round(time.Millisecond), float64(records)/secs, float64(s.Bytes)/1e6/secs)
	for _, src := range []schemas.Source{schemas.SourceCloudTrail, schemas.SourceInvocation, schemas.SourceEndpoint, schemas.SourceUnknown} {
		m := s.Records[src]
		var total int64
		for _, n := range m {
			total += n
		}
		if total == 0 {
			continue
		}
		fmt.Fprintf(w, "  %-11s %8d: %d event(s), %d filtered, %d skipped, %d malformed\n", src.String(), total,
			m[schemas.StatusEvent], m[schemas.StatusFiltered], m[schemas.StatusSkipped], m[schemas.StatusMalformed])
	}
	if len(s.Malformed) > 0 {
		var parts []string
		for _, k := range processor.SortedCounts(s.Malformed) {
			parts = append(parts, fmt.Sprintf("%s %d", k, s.Malformed[k]))
		}
		fmt.Fprintf(w, "  malformed by reason: %s\n", strings.Join(parts, ", "))
	}
	fmt.Fprintf(w, "  late events: %d\n", s.Late)
	var alerts int64
	for _, n := range s.Alerts {
		alerts += n
	}
	fmt.Fprintf(w, "  alerts: %d\n", alerts)
	for _, id := range processor.SortedCounts(s.Alerts) {
		fmt.Fprintf(w, "    %-52s %d\n", id, s.Alerts[id])
	}
}
