package service

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
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
			configs["max.message.bytes"] = kadm.StringPtr(fmt.Sprint(2 * maxDLQValue))
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

// CaughtUp reports whether cfg's group has consumed everything in the input
// topics and the events topic. The events topic is written in transactions,
// so it ends with a commit marker the group never commits past: one offset
// short of the end is done.
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
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil || o.Offset == 0 {
			return
		}
		c, found := committed.Lookup(o.Topic, o.Partition)
		want := o.Offset
		if o.Topic == cfg.Topics.Events {
			want--
		}
		if !found || c.At < want {
			ok = false
		}
	})
	return ok, nil
}
