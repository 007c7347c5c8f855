package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bedrockwatch/bedrockwatch/service"
	"github.com/bedrockwatch/bedrockwatch/service/cekafka"
)

const alertsHelp = `
Alerts follows the alert topic and prints each alert as it is committed: one
line of text (event time, severity, rule, subject, summary), or with --json
the CloudEvent as one JSON object a line (structured mode, whichever mode the
record was written in). It reads with read_committed, so alerts of aborted
transactions never show, and each alert shows once however often the service
restarted.

By default it reads every partition directly, from the end of the topic (new
alerts only) and commits nothing; --from-beginning starts from the oldest
alert kept. With --group it joins a consumer group of its own and commits what
it printed, so the next run with the same --group continues where this one
stopped. Never give it the service's group.

It runs until interrupted, until --count alerts were printed, or until no
record came for --timeout. Records that are not CloudEvents are reported on
standard error and skipped. Exit status: 0; 1 when the brokers cannot be
reached, or when --timeout ends the wait before --count alerts came.

The broker, TLS and SASL flags are those of "bedrockwatch run", and so are
their environment variables; --config accepts the service's config file (the
keys that only concern the service are ignored). --group is taken from the
command line only: BEDROCKWATCH_GROUP and a group key name the service's group.

Examples:
  bedrockwatch alerts --brokers kafka-0:9092 --from-beginning
  bedrockwatch alerts --json | jq 'select(.severity == "critical")'
  bedrockwatch alerts --count 1 --timeout 2m   # wait for the next alert (exit 1 if none)
`

// pingTimeout bounds the first contact with the brokers.
const pingTimeout = 15 * time.Second

type alertsFlags struct {
	config        configPath
	brokers       listFlag
	topic         string
	group         string
	fromBeginning bool
	json          bool
	count         int
	timeout       time.Duration
	tls           service.TLS
	sasl          service.SASL
	passFile      string
}

// configPath is the --config flag of alerts. Its String is empty so that
// parseFlags does not apply the file itself: alerts applies it leniently
// (applyAlertsConfig).
type configPath struct{ path string }

func (c *configPath) String() string     { return "" }
func (c *configPath) Set(s string) error { c.path = s; return nil }

func parseAlertsFlags(args []string, stderr io.Writer) (*alertsFlags, error) {
	def := service.DefaultConfig()
	f := &alertsFlags{brokers: append(listFlag{}, def.Brokers...)}
	fs := newFlagSet("alerts", "alerts [flags]", alertsHelp, stderr)
	fs.Var(&f.config, "config", "YAML file of settings (keys are flag names; the service's config file will do)")
	fs.Var(&f.brokers, "brokers", "comma-separated Kafka bootstrap brokers (host:port)")
	fs.StringVar(&f.topic, "alerts-topic", def.Topics.Alerts, "topic of alerts (CloudEvents)")
	fs.StringVar(&f.group, "group", "", "consumer group of this reader, which commits what it printed (command line only; never the service's group). Empty: read partitions directly, commit nothing")
	fs.BoolVar(&f.fromBeginning, "from-beginning", false, "start from the oldest alert kept (with --group: when the group has no committed offset)")
	fs.BoolVar(&f.json, "json", false, "print each alert as its CloudEvent, one JSON object a line")
	fs.IntVar(&f.count, "count", 0, "stop after this many alerts (0: no limit)")
	fs.DurationVar(&f.timeout, "timeout", 0, "stop when no record came for this long (0: wait forever); with --count, not reaching it is an error")
	addKafkaFlags(fs, &f.tls, &f.sasl, &f.passFile)
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, usagef("alerts takes no arguments, got %q", fs.Args())
	}
	onCommandLine := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { onCommandLine[fl.Name] = true })
	if !onCommandLine["group"] {
		f.group = "" // BEDROCKWATCH_GROUP is the service's group
	}
	if f.config.path != "" {
		if err := applyAlertsConfig(fs, f.config.path, onCommandLine); err != nil {
			return nil, usagef("%v", err)
		}
	}
	switch {
	case len(f.brokers) == 0:
		return nil, usagef("--brokers: name at least one broker")
	case f.topic == "":
		return nil, usagef("--alerts-topic: empty")
	case f.count < 0:
		return nil, usagef("--count %d: want 0 or more", f.count)
	case f.timeout < 0:
		return nil, usagef("--timeout %s: want 0 or more", f.timeout)
	}
	if f.passFile != "" {
		b, err := os.ReadFile(f.passFile)
		if err != nil {
			return nil, usagef("sasl-password-file: %v", err)
		}
		f.sasl.Password = strings.TrimRight(string(b), "\r\n")
	}
	return f, nil
}

// applyAlertsConfig sets the flags of fs not given on the command line nor
// in the environment from the YAML file path. Keys of `run` that alerts has
// no use for, and group (the service's group), are ignored; other unknown
// keys are errors.
func applyAlertsConfig(fs *flag.FlagSet, path string, onCommandLine map[string]bool) error {
	cfs := flag.NewFlagSet("alerts config", flag.ContinueOnError)
	fs.VisitAll(func(fl *flag.Flag) {
		if fl.Name != "config" {
			cfs.Var(fl.Value, fl.Name, fl.Usage)
		}
	})
	var ignored runFlags
	rfs := flag.NewFlagSet("run", flag.ContinueOnError)
	addRunFlags(rfs, &ignored, true)
	rfs.VisitAll(func(fl *flag.Flag) {
		if cfs.Lookup(fl.Name) == nil && fl.Name != "config" {
			cfs.Var(fl.Value, fl.Name, fl.Usage)
		}
	})
	set := map[string]bool{}
	for k := range onCommandLine {
		set[k] = true
	}
	cfs.VisitAll(func(fl *flag.Flag) {
		if _, ok := os.LookupEnv(envName(fl.Name)); ok {
			set[fl.Name] = true
		}
	})
	if !onCommandLine["group"] {
		set["group"] = true // never from the file: it is the service's group
	}
	return applyConfigFile(cfs, path, set)
}

func runAlerts(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseAlertsFlags(args, stderr)
	if err != nil {
		return err
	}
	opts, err := service.ClientOpts(f.brokers, f.tls, f.sasl)
	if err != nil {
		return usagef("%v", err)
	}
	start := kgo.NewOffset().AtEnd()
	if f.fromBeginning {
		start = kgo.NewOffset().AtStart()
	}
	opts = append(opts,
		kgo.ConsumeTopics(f.topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(start),
	)
	if f.group != "" {
		// Commit only what was printed: with --count, records polled but not
		// printed stay for the next run.
		opts = append(opts, kgo.ConsumerGroup(f.group), kgo.AutoCommitMarks())
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := service.Ping(ctx, cl, f.brokers, pingTimeout); err != nil {
		return err
	}
	if err := checkAlertsTopic(ctx, kadm.NewClient(cl), f, stderr); err != nil {
		return err
	}
	return followAlerts(ctx, cl, f, stdout, stderr)
}

// checkAlertsTopic warns when the topic does not exist yet (the reader waits
// for it) and refuses a group that commits offsets of other topics: that is
// another application's group, most likely the service's, and joining it
// would take partitions from its members.
func checkAlertsTopic(ctx context.Context, adm *kadm.Client, f *alertsFlags, stderr io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	td, err := adm.ListTopics(ctx, f.topic)
	if err != nil {
		return fmt.Errorf("describing topic %s: %w", f.topic, err)
	}
	if t, ok := td[f.topic]; !ok || errors.Is(t.Err, kerr.UnknownTopicOrPartition) {
		fmt.Fprintf(stderr, "bedrockwatch alerts: topic %s does not exist yet; waiting for it (is the service running with --alerts-topic %s?)\n", f.topic, f.topic)
	} else if t.Err != nil {
		return fmt.Errorf("topic %s: %w", f.topic, t.Err)
	}
	if f.group == "" {
		return nil
	}
	offs, err := adm.FetchOffsets(ctx, f.group)
	if errors.Is(err, kerr.GroupIDNotFound) {
		return nil // a new group
	}
	if err != nil {
		return fmt.Errorf("group %s: fetching its committed offsets: %w", f.group, err)
	}
	var others []string
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Topic != f.topic && !slices.Contains(others, o.Topic) {
			others = append(others, o.Topic)
		}
	})
	if len(others) > 0 {
		sort.Strings(others)
		return usagef("--group %s: the group commits offsets of %s too: it belongs to another application (the service?); give alerts a group of its own",
			f.group, strings.Join(others, ", "))
	}
	return nil
}

// followAlerts prints the alerts of cl until ctx ends, --count alerts were
// printed or nothing came for --timeout.
func followAlerts(ctx context.Context, cl *kgo.Client, f *alertsFlags, stdout, stderr io.Writer) error {
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	printed := 0
	warned := map[string]bool{}
	idleSince := time.Now()
	for {
		pctx, cancel := ctx, context.CancelFunc(func() {})
		if f.timeout > 0 {
			pctx, cancel = context.WithDeadline(ctx, idleSince.Add(f.timeout))
		}
		fetches := cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil || fetches.IsClientClosed() {
			return nil // interrupted: a normal end
		}
		var fatal error
		fetches.EachError(func(topic string, p int32, err error) {
			var loss *kgo.ErrDataLoss
			switch {
			case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
			case errors.As(err, &loss) || errors.Is(err, kerr.UnknownTopicOrPartition) || kerr.IsRetriable(err):
				if msg := err.Error(); !warned[msg] {
					warned[msg] = true
					fmt.Fprintf(stderr, "bedrockwatch alerts: %s partition %d: %v\n", topic, p, err)
				}
			default:
				fatal = errors.Join(fatal, fmt.Errorf("topic %s partition %d: %w", topic, p, err))
			}
		})
		if fatal != nil {
			return fatal
		}
		if fetches.NumRecords() == 0 {
			if f.timeout > 0 && !time.Now().Before(idleSince.Add(f.timeout)) {
				if f.count > 0 {
					return fmt.Errorf("--timeout %s: no record for %s; %d of --count %d alerts came", f.timeout, f.timeout, printed, f.count)
				}
				return nil
			}
			continue
		}
		idleSince = time.Now()
		for r := range fetches.RecordsAll() {
			if err := printAlert(out, r, f.json); err != nil {
				var werr writeError
				if errors.As(err, &werr) {
					return err
				}
				fmt.Fprintf(stderr, "bedrockwatch alerts: skipping %v\n", err)
			} else {
				printed++
			}
			if f.group != "" {
				cl.MarkCommitRecords(r)
			}
			if f.count > 0 && printed >= f.count {
				return out.Flush()
			}
		}
		if err := out.Flush(); err != nil {
			return writeError{err}
		}
	}
}

// writeError is a failure to write standard output: it ends the command.
type writeError struct{ error }

func (e writeError) Unwrap() error { return e.error }

// printAlert writes the alert of r as a line of text, or as its CloudEvent
// JSON.
func printAlert(w io.Writer, r *kgo.Record, asJSON bool) error {
	ev, err := cekafka.Event(r)
	if err != nil {
		return err
	}
	if !asJSON {
		if err := writeEventLine(w, ev); err != nil {
			return writeError{err}
		}
		return nil
	}
	line, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("record %s/%d@%d: %w", r.Topic, r.Partition, r.Offset, err)
	}
	if _, err := w.Write(append(line, '\n')); err != nil {
		return writeError{err}
	}
	return nil
}
