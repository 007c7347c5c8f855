package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/bedrockwatch/bedrockwatch/processor/rules"
	"github.com/bedrockwatch/bedrockwatch/service"
)

const runHelp = `
Runs the service: a member of a Kafka consumer group that reads CloudTrail,
invocation-log and endpoint topics, runs the rules with its state in a Badger
store under --state-dir, and produces alerts as CloudEvents to --alerts-topic,
exactly once (Kafka transactions). Records it cannot decode go to --dlq-topic
with their reason, topic, partition and offset in headers.

Scale out by starting more replicas with the same --group, up to the number
of partitions. Give each replica a stable --instance-id (on Kubernetes, the
pod name) and its own --state-dir: the state there is a cache of the
changelog topic, restored from its tail at start.

Serves /metrics (Prometheus), /healthz and /readyz on --metrics-addr.

Examples:
  bedrockwatch run --brokers kafka-0:9092,kafka-1:9092 --state-dir /var/lib/bedrockwatch
  BEDROCKWATCH_SASL_PASSWORD=… bedrockwatch run --config /etc/bedrockwatch/config.yaml
`

// runFlags are the settings of `run` (and of `dev`, which adds its own).
type runFlags struct {
	cfg        service.Config
	config     string
	rulesDir   string
	prices     string
	brokers    listFlag
	providers  listFlag
	allProv    bool
	metrics    string
	logLevel   string
	logFormat  string
	pprof      bool
	passFile   string
	readyDelay time.Duration
}

// addRunFlags defines run's flags on fs, with defaults from
// service.DefaultConfig. brokers is not defined when withBrokers is false
// (dev listens itself).
func addRunFlags(fs *flag.FlagSet, f *runFlags, withBrokers bool) {
	f.cfg = service.DefaultConfig()
	c := &f.cfg
	fs.StringVar(&f.config, "config", "", "YAML file of settings (keys are flag names)")
	if withBrokers {
		f.brokers = append(listFlag{}, c.Brokers...)
		fs.Var(&f.brokers, "brokers", "comma-separated Kafka bootstrap brokers (host:port)")
	}
	fs.StringVar(&c.Topics.CloudTrail, "cloudtrail-topic", c.Topics.CloudTrail, "input topic of CloudTrail records (empty: not read)")
	fs.StringVar(&c.Topics.Invocations, "invocations-topic", c.Topics.Invocations, "input topic of Bedrock model-invocation logs (empty: not read)")
	fs.StringVar(&c.Topics.Endpoint, "endpoint-topic", c.Topics.Endpoint, "input topic of endpoint process events (empty: not read)")
	fs.StringVar(&c.Topics.Alerts, "alerts-topic", c.Topics.Alerts, "output topic of alerts (CloudEvents, structured JSON)")
	fs.StringVar(&c.Topics.DLQ, "dlq-topic", c.Topics.DLQ, "dead-letter topic for records that cannot be decoded")
	fs.StringVar(&c.Topics.Events, "events-topic", c.Topics.Events, "internal topic of events routed by group key")
	fs.StringVar(&c.Topics.Changelog, "changelog-topic", c.Topics.Changelog, "internal compacted topic of state changes")
	fs.StringVar(&c.Group, "group", c.Group, "consumer group id")
	fs.StringVar(&c.InstanceID, "instance-id", "", "static group member id and transactional id base; on Kubernetes the pod name (default: the host name)")
	fs.StringVar(&c.StateDir, "state-dir", c.StateDir, "directory of the Badger state store (a cache of the changelog topic)")
	fs.BoolVar(&c.CreateTopics, "create-topics", true, "create missing topics (internal ones compacted or with the input partition count); false: missing topics are an error")
	partitions := int(c.Partitions)
	fs.Func("partitions", fmt.Sprintf("partitions of topics created by --create-topics, when no input topic exists to copy (default %d)", partitions), func(s string) error {
		var n int32
		_, err := fmt.Sscan(s, &n)
		c.Partitions = n
		return err
	})
	fs.Func("replication-factor", fmt.Sprintf("replication factor of topics created by --create-topics (default %d; capped at the broker count)", c.ReplicationFactor), func(s string) error {
		var n int16
		_, err := fmt.Sscan(s, &n)
		c.ReplicationFactor = n
		return err
	})
	fs.DurationVar(&c.Engine.AllowedLateness, "allowed-lateness", c.Engine.AllowedLateness, "how late an event may arrive behind the newest of its partition and still be on time")
	fs.DurationVar(&c.IdleAdvance, "idle-advance", c.IdleAdvance, "a partition idle this long moves its watermark on by processing time, so windows close")
	fs.DurationVar(&c.InputIdle, "input-idle", c.InputIdle, "an input partition read to its end and quiet this long stops holding the watermark back")
	fs.IntVar(&c.Engine.PromptChars, "prompt-chars", c.Engine.PromptChars, "characters of prompt quoted in alerts of rules that include prompts (secrets are masked)")
	fs.IntVar(&c.Engine.MaxEvidence, "max-evidence", c.Engine.MaxEvidence, "evidence entries per alert (the total is always counted)")
	fs.IntVar(&c.Decode.MaxRecordBytes, "max-record-bytes", c.Decode.MaxRecordBytes, "largest input record; larger ones go to the DLQ as oversized")
	f.providers = append(listFlag{}, c.Decode.CloudTrailProviders...)
	fs.Var(&f.providers, "cloudtrail-providers", "comma-separated eventSource values whose CloudTrail records are evaluated")
	fs.BoolVar(&f.allProv, "all-providers", false, "evaluate CloudTrail records of every service")
	fs.DurationVar(&c.WarmCacheTTL, "warm-cache-ttl", c.WarmCacheTTL, "how long a revoked partition's local state is kept in case the partition comes back (then restored from the changelog tail, not in full)")
	fs.IntVar(&c.MaxPollRecords, "max-poll-records", c.MaxPollRecords, "records per transaction at most")
	fs.DurationVar(&c.TransactionTimeout, "transaction-timeout", c.TransactionTimeout, "Kafka transaction timeout")
	fs.StringVar(&f.rulesDir, "rules", "", "directory of rule files that add to or override the built-in pack by id (read at start)")
	fs.StringVar(&f.prices, "prices", "", pricesUsage)
	addKafkaFlags(fs, &c.TLS, &c.SASL, &f.passFile)
	fs.StringVar(&f.metrics, "metrics-addr", ":9090", "address of the HTTP server for /metrics, /healthz and /readyz (empty: none)")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.logFormat, "log-format", "json", "json or text")
	fs.BoolVar(&f.pprof, "pprof", false, "serve /debug/pprof/ on --metrics-addr")
}

// addKafkaFlags defines the TLS and SASL flags every command that talks to
// Kafka shares (run, dev, alerts).
func addKafkaFlags(fs *flag.FlagSet, t *service.TLS, s *service.SASL, passFile *string) {
	fs.BoolVar(&t.Enabled, "tls", false, "connect to the brokers with TLS")
	fs.StringVar(&t.CAFile, "tls-ca-file", "", "PEM file of the CA certificates that sign the brokers' certificates (default: the system's)")
	fs.StringVar(&t.CertFile, "tls-cert-file", "", "PEM client certificate, for mutual TLS")
	fs.StringVar(&t.KeyFile, "tls-key-file", "", "PEM key of --tls-cert-file")
	fs.StringVar(&t.ServerName, "tls-server-name", "", "server name to verify in the brokers' certificates (default: the broker host)")
	fs.BoolVar(&t.InsecureSkipVerify, "tls-insecure-skip-verify", false, "do not verify the brokers' certificates (testing only)")
	fs.StringVar(&s.Mechanism, "sasl-mechanism", "", "PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or AWS_MSK_IAM (credentials from the AWS_* environment)")
	fs.StringVar(&s.Username, "sasl-username", "", "SASL user name")
	fs.StringVar(&s.Password, "sasl-password", "", "SASL password (prefer the environment variable or --sasl-password-file)")
	fs.StringVar(passFile, "sasl-password-file", "", "file holding the SASL password (a mounted Secret)")
}

// finish completes the service configuration after the flags are parsed;
// rule problems are printed on stderr.
func (f *runFlags) finish(stderr io.Writer) error {
	c := &f.cfg
	if f.brokers != nil {
		c.Brokers = f.brokers
	}
	c.Decode.CloudTrailProviders = f.providers
	if f.allProv {
		c.Decode.CloudTrailProviders = nil
	}
	if f.passFile != "" {
		b, err := os.ReadFile(f.passFile)
		if err != nil {
			return usagef("sasl-password-file: %v", err)
		}
		c.SASL.Password = strings.TrimRight(string(b), "\r\n")
	}
	if c.InstanceID == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = "bedrockwatch"
		}
		c.InstanceID = h
	}
	var err error
	if c.Engine.Prices, err = loadPrices(f.prices); err != nil {
		return usagef("%v", err)
	}
	rs, err := rules.Load(f.rulesDir)
	if err != nil {
		printProblems(stderr, err)
		return errReported
	}
	c.Rules = rs
	if err := c.Validate(); err != nil {
		return usagef("%v", err)
	}
	return nil
}

// parseRunFlags parses args of run into a service configuration; the chart
// test loads the config file the Helm chart renders through it.
func parseRunFlags(args []string, stderr io.Writer) (*runFlags, error) {
	var f runFlags
	fs := newFlagSet("run", "run [flags]", runHelp, stderr)
	addRunFlags(fs, &f, true)
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, usagef("run takes no arguments, got %q", fs.Args())
	}
	if err := f.finish(stderr); err != nil {
		return nil, err
	}
	return &f, nil
}

func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseRunFlags(args, stderr)
	if err != nil {
		return err
	}
	return serve(ctx, f, stderr)
}
