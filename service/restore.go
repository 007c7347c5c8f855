package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bedrockwatch/bedrockwatch/state"
)

// restore brings partition p's local state up to the changelog: from the
// record after the local checkpoint when it is usable, else — no
// checkpoint, another format, or a changelog that no longer holds the
// records after it — from the start, after dropping the partition's keys.
// It reads with read_committed and keeps control records, so it knows its
// position even when the log ends with a transaction marker; it reads up to
// the end that changelogEnd waits for. It returns the number of changelog
// records applied.
func (s *Service) restore(ctx context.Context, p int32) (int64, error) {
	topic := s.cfg.Topics.Changelog
	view := s.db.Partition(p)
	view.Discard()
	end, err := s.changelogEnd(ctx, p)
	if err != nil {
		return 0, err
	}
	starts, err := s.adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return 0, fmt.Errorf("listing changelog start offsets: %w", err)
	}
	so, ok := starts.Lookup(topic, p)
	if !ok || so.Err != nil {
		return 0, fmt.Errorf("changelog %s has no partition %d", topic, p)
	}
	start := so.Offset

	cp, ok, err := view.ReadCheckpoint()
	if err != nil && !errors.Is(err, state.ErrFormat) {
		return 0, err
	}
	from := start
	if ok && err == nil && cp.ChangelogOffset+1 >= start && cp.ChangelogOffset+1 <= end {
		from = cp.ChangelogOffset + 1
	} else {
		if ok || err != nil {
			s.log.Warn("local state of partition unusable; restoring it whole from the changelog",
				"partition", p, "checkpoint", cp.ChangelogOffset, "changelog_start", start, "changelog_end", end, "error", err)
		}
		if err := s.db.DropPartition(p); err != nil {
			return 0, err
		}
	}
	s.met.SetRestore(p, end-from)
	if from >= end {
		s.met.SetRestore(p, 0)
		return 0, nil
	}
	opts := append([]kgo.Opt{}, s.base...)
	opts = append(opts,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {p: kgo.NewOffset().At(from)}}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	var applied int64
	last := from - 1
	for last < end-1 {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return applied, ctx.Err()
		}
		var ferr error
		fetches.EachError(func(_ string, _ int32, err error) { ferr = err })
		if ferr != nil {
			return applied, ferr
		}
		var aerr error
		fetches.EachRecord(func(r *kgo.Record) {
			if aerr != nil || r.Offset >= end {
				return
			}
			last = r.Offset
			if r.Attrs.IsControl() {
				return
			}
			if r.Value == nil {
				aerr = view.Delete(string(r.Key))
			} else {
				aerr = view.Put(string(r.Key), r.Value)
			}
			applied++
		})
		if aerr != nil {
			return applied, aerr
		}
		if view.WriteSet().Len() >= 4096 {
			if err := view.Flush(); err != nil {
				return applied, err
			}
		}
		s.met.SetRestore(p, end-1-last)
	}
	if err := view.WriteCheckpoint(state.Checkpoint{ChangelogOffset: end - 1}); err != nil {
		return applied, err
	}
	s.met.SetRestore(p, 0)
	return applied, nil
}

// changelogEnd returns the end of partition p's changelog for a restore,
// once every transaction open on it when asked has ended. Such a
// transaction is a previous owner's: one that died in it (the broker aborts
// it after the transaction timeout, or at once when the owner restarts) or
// one still ending the transaction the rebalance aborted. The last stable
// offset stops at its first record, and a later owner's committed changes
// may follow it: a restore that read only that far would miss them, while
// the group's offsets of the events behind them are committed, so they
// would be lost for good. While such a transaction is open the restore
// waits (readiness stays false), saying so every few seconds.
func (s *Service) changelogEnd(ctx context.Context, p int32) (int64, error) {
	topic := s.cfg.Topics.Changelog
	lookup := func(list func(context.Context, ...string) (kadm.ListedOffsets, error), what string) (int64, error) {
		offs, err := list(ctx, topic)
		if err != nil {
			return 0, fmt.Errorf("listing changelog %s offsets: %w", what, err)
		}
		o, ok := offs.Lookup(topic, p)
		if !ok {
			return 0, fmt.Errorf("changelog %s has no partition %d", topic, p)
		}
		if o.Err != nil {
			return 0, fmt.Errorf("listing changelog %s offsets of partition %d: %w", what, p, o.Err)
		}
		return o.Offset, nil
	}
	high, err := lookup(s.adm.ListEndOffsets, "end")
	if err != nil {
		return 0, err
	}
	began, said, warned := time.Now(), time.Time{}, time.Time{}
	// A listing that fails while the restore waits is tried again for a
	// while: the wait can be long, and one failed request (a leader moving)
	// should not stop the replica.
	retryFor := max(2*s.cfg.TransactionTimeout, 30*time.Second)
	for {
		stable, err := lookup(s.adm.ListCommittedOffsets, "last stable")
		switch {
		case err != nil && time.Since(began) >= retryFor:
			return 0, err
		case err != nil:
			if time.Since(warned) >= 5*time.Second {
				s.log.Warn("listing the changelog's last stable offset; trying again", "partition", p, "error", err)
				warned = time.Now()
			}
		case stable >= high:
			if !said.IsZero() {
				s.log.Info("changelog transaction ended; restoring", "partition", p, "waited", time.Since(began).Round(time.Millisecond))
			}
			return stable, nil
		case time.Since(said) >= 5*time.Second:
			s.log.Info("waiting for a transaction open on the changelog to end before restoring (a previous owner's; the broker aborts it after the transaction timeout)",
				"partition", p, "last_stable_offset", stable, "end_offset", high, "waited", time.Since(began).Round(time.Second))
			said = time.Now()
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(restorePoll):
		}
	}
}

// restorePoll is how often a waiting restore looks at the changelog again.
const restorePoll = 50 * time.Millisecond
