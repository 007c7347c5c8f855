// Package service runs the detection engine as a Kafka consumer group with
// exactly-once alerts: inputs are decoded and routed by group key to the
// internal events topic; the engine runs per partition of that topic on a
// Badger view whose changes go to a compacted changelog; alerts, routed
// events, changelog records and input offsets commit in one transaction.
package service

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bedrockwatch/bedrockwatch/processor"
	"github.com/bedrockwatch/bedrockwatch/processor/rules"
	"github.com/bedrockwatch/bedrockwatch/schemas"
	"github.com/bedrockwatch/bedrockwatch/state"
)

// Topics names the topics the service reads and writes.
type Topics struct {
	CloudTrail  string // input: CloudTrail records in any shape
	Invocations string // input: Bedrock model-invocation logs
	Endpoint    string // input: endpoint process events
	Alerts      string // output: CloudEvents
	DLQ         string // output: records that could not be decoded, with reason headers
	Events      string // internal: normalised events routed by group key
	Changelog   string // internal, compacted: state changes per events partition
}

// DefaultTopics returns SPEC §7's default topic names.
func DefaultTopics() Topics {
	return Topics{
		CloudTrail: "cloudtrail", Invocations: "bedrock-invocations", Endpoint: "endpoint",
		Alerts: "bedrockwatch-alerts", DLQ: "bedrockwatch-dlq",
		Events: "bedrockwatch-events", Changelog: "bedrockwatch-changelog",
	}
}

// Inputs returns the input topics that are set.
func (t Topics) Inputs() []string {
	var in []string
	for _, s := range []string{t.CloudTrail, t.Invocations, t.Endpoint} {
		if s != "" {
			in = append(in, s)
		}
	}
	return in
}

// TLS configures TLS to the brokers.
type TLS struct {
	Enabled            bool
	CAFile             string
	CertFile           string
	KeyFile            string
	ServerName         string
	InsecureSkipVerify bool
}

// SASL configures SASL authentication.
type SASL struct {
	// Mechanism is "", PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or AWS_MSK_IAM.
	Mechanism string
	Username  string
	Password  string
	// AWS_MSK_IAM takes its credentials from the standard AWS environment
	// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN).
}

// Config configures a Service.
type Config struct {
	Brokers []string
	Topics  Topics
	Group   string
	// InstanceID is the static group membership id and the base of the
	// transactional id; on Kubernetes the pod name. Empty: the host name.
	InstanceID string
	// StateDir holds the Badger store.
	StateDir string
	// CreateTopics creates missing topics (inputs and internal ones) with
	// Partitions partitions and ReplicationFactor replicas; otherwise
	// missing topics are a start-up error.
	CreateTopics      bool
	Partitions        int32
	ReplicationFactor int16

	TLS  TLS
	SASL SASL

	// Rules are the rules in force (built-in pack plus --rules).
	Rules  []*rules.Rule
	Engine processor.Config
	Decode schemas.Config
	State  state.Options

	// MaxPollRecords bounds one transaction's batch.
	MaxPollRecords int
	// IdleAdvance: a partition that received nothing for this long moves its
	// watermark on by the processing time that passed, so windows close.
	IdleAdvance time.Duration
	// InputIdle is how long an input partition read to its end must give
	// nothing before it stops holding the watermark back.
	InputIdle time.Duration
	// WarmCacheTTL is how long a revoked partition's local state is kept in
	// case it comes back.
	WarmCacheTTL time.Duration
	// TransactionTimeout is the Kafka transaction timeout.
	TransactionTimeout time.Duration
}

// DefaultConfig returns a Config with the defaults of `bedrockwatch run`.
func DefaultConfig() Config {
	return Config{
		Brokers: []string{"localhost:9092"}, Topics: DefaultTopics(), Group: "bedrockwatch",
		StateDir: "bedrockwatch-state", Partitions: 6, ReplicationFactor: 3,
		Engine: processor.DefaultConfig(), Decode: schemas.DefaultConfig(), State: state.DefaultOptions(),
		MaxPollRecords: 5000, IdleAdvance: time.Minute, InputIdle: 2 * time.Second, WarmCacheTTL: 10 * time.Minute,
		TransactionTimeout: 60 * time.Second,
	}
}

// Validate reports every problem of c at once, naming the setting.
func (c Config) Validate() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("brokers: name at least one broker (host:port)"))
	}
	if len(c.Topics.Inputs()) == 0 {
		errs = append(errs, errors.New("no input topic: set at least one of cloudtrail-topic, invocations-topic, endpoint-topic"))
	}
	for name, v := range map[string]string{"alerts-topic": c.Topics.Alerts, "dlq-topic": c.Topics.DLQ,
		"events-topic": c.Topics.Events, "changelog-topic": c.Topics.Changelog} {
		if v == "" {
			errs = append(errs, fmt.Errorf("%s must not be empty", name))
		}
	}
	if c.Group == "" {
		errs = append(errs, errors.New("group must not be empty"))
	}
	if c.StateDir == "" {
		errs = append(errs, errors.New("state-dir must not be empty"))
	}
	if c.Partitions < 1 {
		errs = append(errs, fmt.Errorf("partitions must be positive, got %d", c.Partitions))
	}
	if c.ReplicationFactor < 1 {
		errs = append(errs, fmt.Errorf("replication-factor must be positive, got %d", c.ReplicationFactor))
	}
	switch strings.ToUpper(c.SASL.Mechanism) {
	case "", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "AWS_MSK_IAM":
	default:
		errs = append(errs, fmt.Errorf("sasl-mechanism %q: want PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or AWS_MSK_IAM", c.SASL.Mechanism))
	}
	if m := strings.ToUpper(c.SASL.Mechanism); (m == "PLAIN" || strings.HasPrefix(m, "SCRAM")) && c.SASL.Username == "" {
		errs = append(errs, fmt.Errorf("sasl-mechanism %s needs sasl-username and sasl-password", m))
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		errs = append(errs, errors.New("tls-cert-file and tls-key-file go together"))
	}
	if c.MaxPollRecords < 1 {
		errs = append(errs, fmt.Errorf("max-poll-records must be positive, got %d", c.MaxPollRecords))
	}
	if err := c.Engine.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.State.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
