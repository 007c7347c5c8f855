package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bedrockwatch/bedrockwatch/state"
)

// restore brings partition p's local state up to the changelog: from the
// record after the local checkpoint when it is usable, else — no
// checkpoint, another format, or a changelog that no longer holds the
// records after it — from the start, after dropping the partition's keys.
// It reads with read_committed and keeps control records, so it knows its
// position even when the log ends with a transaction marker. It returns the
// number of changelog records applied.
func (s *Service) restore(ctx context.Context, p int32) (int64, error) {
	topic := s.cfg.Topics.Changelog
	view := s.db.Partition(p)
	view.Discard()
	starts, err := s.adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return 0, fmt.Errorf("listing changelog start offsets: %w", err)
	}
	ends, err := s.adm.ListCommittedOffsets(ctx, topic)
	if err != nil {
		return 0, fmt.Errorf("listing changelog end offsets: %w", err)
	}
	so, ok1 := starts.Lookup(topic, p)
	eo, ok2 := ends.Lookup(topic, p)
	if !ok1 || !ok2 || so.Err != nil || eo.Err != nil {
		return 0, fmt.Errorf("changelog %s has no partition %d", topic, p)
	}
	start, end := so.Offset, eo.Offset

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
