package service

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ensureTopics creates the missing topics when CreateTopics is set, or
// reports them, and checks that the events and changelog topics have the
// same number of partitions (partition p of one is the state of partition p
// of the other). It returns that number.
func ensureTopics(ctx context.Context, adm *kadm.Client, cfg Config) (int32, error) {
	t := cfg.Topics
	all := append(t.Inputs(), t.Alerts, t.DLQ, t.Events, t.Changelog)
	details, err := adm.ListTopics(ctx, all...)
	if err != nil {
		return 0, fmt.Errorf("listing topics: %w", err)
	}
	exists := func(name string) (kadm.TopicDetail, bool) {
		d, ok := details[name]
		return d, ok && d.Err == nil
	}
	// New internal topics copy the partition count of the inputs.
	parts := cfg.Partitions
	for _, in := range t.Inputs() {
		if d, ok := exists(in); ok && int32(len(d.Partitions)) > 0 {
			parts = int32(len(d.Partitions))
			break
		}
	}
	if d, ok := exists(t.Events); ok {
		parts = int32(len(d.Partitions))
	}
	rf := cfg.ReplicationFactor
	if brokers, err := adm.ListBrokers(ctx); err == nil && len(brokers) > 0 && int(rf) > len(brokers) {
		rf = int16(len(brokers))
	}
	var missing []string
	for _, name := range all {
		if _, ok := exists(name); ok {
			continue
		}
		if !cfg.CreateTopics {
			missing = append(missing, name)
			continue
		}
		configs := map[string]*string{}
		switch name {
		case t.Changelog:
			configs["cleanup.policy"] = kadm.StringPtr("compact")
		case t.DLQ:
			configs["max.message.bytes"] = kadm.StringPtr(fmt.Sprint(dlqMaxMessageBytes))
		case t.Events:
			configs["max.message.bytes"] = kadm.StringPtr(fmt.Sprint(eventsMaxMessageBytes(cfg)))
		}
		resp, err := adm.CreateTopic(ctx, parts, rf, configs, name)
		if err != nil && !strings.Contains(err.Error(), "TOPIC_ALREADY_EXISTS") {
			return 0, fmt.Errorf("creating topic %s: %w", name, err)
		}
		_ = resp
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return 0, fmt.Errorf("topics missing: %s (create them, or start with --create-topics)", strings.Join(missing, ", "))
	}
	// A topic just created may take a moment to appear in metadata.
	var ev, ch kadm.TopicDetail
	for try := 0; ; try++ {
		details, err = adm.ListTopics(ctx, t.Events, t.Changelog)
		if err != nil {
			return 0, fmt.Errorf("listing topics: %w", err)
		}
		ev, ch = details[t.Events], details[t.Changelog]
		if (ev.Err == nil && ch.Err == nil) || try == 50 || ctx.Err() != nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if ev.Err != nil || ch.Err != nil {
		return 0, fmt.Errorf("topics %s, %s: %w", t.Events, t.Changelog, errors.Join(ev.Err, ch.Err))
	}
	if len(ev.Partitions) != len(ch.Partitions) {
		return 0, fmt.Errorf("topic %s has %d partitions and %s %d: they must match (partition p of the changelog holds the state of partition p of the events)",
			t.Events, len(ev.Partitions), t.Changelog, len(ch.Partitions))
	}
	return int32(len(ev.Partitions)), nil
}

// dlqMaxMessageBytes is the max.message.bytes of the DLQ topic the service
// creates: room for one copy cut to maxDLQValue, with its headers.
const dlqMaxMessageBytes = 2 * maxDLQValue

// eventsMaxMessageBytes is the max.message.bytes of the events topic the
// service creates: room for a batch of routed events, and for one event as
// large as an input record may be (Decode.MaxRecordBytes) with its headers.
func eventsMaxMessageBytes(cfg Config) int {
	return max(4<<20, cfg.Decode.MaxRecordBytes+64<<10)
}

// batchMaxBytes bounds the record batches produced to each topic by what
// the topic accepts. A broker answers a larger batch MESSAGE_TOO_LARGE,
// franz-go does not split it, and the transaction would abort and retry the
// same batch for ever: the service would stop on two oversized records
// dead-lettered together, or on one input record near MaxRecordBytes. The
// alerts and changelog topics keep the broker's default limit (1 MiB), so
// their batches keep franz-go's default bound, just under it.
func batchMaxBytes(cfg Config) func(string) int32 {
	return func(topic string) int32 {
		switch topic {
		case cfg.Topics.DLQ:
			return dlqMaxMessageBytes
		case cfg.Topics.Events:
			return int32(eventsMaxMessageBytes(cfg))
		}
		return 1_000_012
	}
}

// CaughtUp reports whether cfg's group has consumed everything in the input
// topics and the events topic. The events topic is written in transactions,
// so after the last record the group consumed it holds markers the group
// never commits past: one per transaction that wrote to the partition
// (several when several replicas write to it at once), and the records of
// aborted transactions. When the group's offset is short of the end, what
// lies between is read (read_committed, markers kept): done when it holds
// no record to consume.
func CaughtUp(ctx context.Context, adm *kadm.Client, cfg Config) (bool, error) {
	topics := append(cfg.Topics.Inputs(), cfg.Topics.Events)
	ends, err := adm.ListCommittedOffsets(ctx, topics...)
	if err != nil {
		return false, err
	}
	committed, err := adm.FetchOffsets(ctx, cfg.Group)
	if err != nil {
		return false, err
	}
	ok := true
	probe := map[int32][2]int64{} // events partition: committed offset, end
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil || o.Offset == 0 {
			return
		}
		c, found := committed.Lookup(o.Topic, o.Partition)
		switch {
		case found && c.At >= o.Offset:
		case found && c.At >= 0 && o.Topic == cfg.Topics.Events:
			probe[o.Partition] = [2]int64{c.At, o.Offset}
		default:
			ok = false
		}
	})
	if !ok || len(probe) == 0 {
		return ok, nil
	}
	return onlyMarkers(ctx, cfg, probe)
}

// onlyMarkers reports whether the events partitions hold nothing to
// consume (only transaction markers and aborted records) in their spans
// [from, end). Undecided within a few seconds counts as not.
func onlyMarkers(ctx context.Context, cfg Config, spans map[int32][2]int64) (bool, error) {
	opts, err := ClientOpts(cfg.Brokers, cfg.TLS, cfg.SASL)
	if err != nil {
		return false, err
	}
	from := map[int32]kgo.Offset{}
	for p, s := range spans {
		from[p] = kgo.NewOffset().At(s[0])
	}
	cl, err := kgo.NewClient(append(opts,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{cfg.Topics.Events: from}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())...)
	if err != nil {
		return false, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for len(spans) > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return false, nil
		}
		data := false
		fs.EachRecord(func(r *kgo.Record) {
			s, ok := spans[r.Partition]
			if !ok || r.Offset >= s[1] {
				return
			}
			if !r.Attrs.IsControl() {
				data = true
			}
			if r.Offset >= s[1]-1 {
				delete(spans, r.Partition)
			}
		})
		if data {
			return false, nil
		}
	}
	return true, nil
}
