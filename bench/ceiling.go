package bench

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Result is what a consume run measured.
type Result struct {
	Records, Bytes int64 // keys and values read
	// Startup runs from the client's creation to the first record (joining
	// the group, the first fetch); Elapsed from the first record to the
	// last one counted.
	Startup time.Duration
	Elapsed time.Duration
	// CPU is the whole process's CPU time over Startup + Elapsed: with an
	// embedded broker, the broker's share is in it.
	CPU           time.Duration
	RecordsPerSec float64 // Records / Elapsed
	BytesPerSec   float64
	// SteadyRecordsPerSec is the rate of the records after the first poll
	// (whose records were fetched while the group formed): without the
	// start-up, it compares with a service's steady rate fairly. The
	// backlog should be much larger than what a client buffers (a fetch
	// per broker, up to 50 MB compressed), or the figure is noise: when
	// the first poll returned half the records or more, Small is set and
	// SteadyRecordsPerSec counts from the client's start instead.
	SteadyRecordsPerSec float64
	Small               bool
}

// CPUPerMillion returns the CPU seconds per million records.
func (r Result) CPUPerMillion() float64 {
	if r.Records == 0 {
		return 0
	}
	return r.CPU.Seconds() * 1e6 / float64(r.Records)
}

// Ceiling measures the raw consume ceiling of topics: a franz-go consumer
// in group group (which should be new, so that it starts at the beginning)
// reads and discards records until it has total of them. opts carry the
// brokers and any security settings; the group, topics and start offset are
// set here; fetch sizes are franz-go's defaults, as the service's are. The
// rate bedrockwatch reaches on the same topics, divided by this one, is the
// share of the ceiling it keeps.
func Ceiling(ctx context.Context, opts []kgo.Opt, topics []string, group string, total int64) (Result, error) {
	return CeilingWatch(ctx, opts, topics, group, total, nil)
}

// CeilingWatch is Ceiling that also counts the records read in progress
// (if not nil), for a progress line.
func CeilingWatch(ctx context.Context, opts []kgo.Opt, topics []string, group string, total int64, progress *atomic.Int64) (Result, error) {
	if total <= 0 {
		return Result{}, errors.New("bench: ceiling: total must be positive")
	}
	start := time.Now()
	cpu0 := CPUTime()
	all := append(append([]kgo.Opt{}, opts...),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	cl, err := kgo.NewClient(all...)
	if err != nil {
		return Result{}, fmt.Errorf("bench: ceiling: %w", err)
	}
	defer cl.Close()

	var res Result
	var first time.Time
	var cFirst int64 // records of the first poll
	for res.Records < total {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		if fs.IsClientClosed() {
			return res, errors.New("bench: ceiling: client closed")
		}
		var ferr error
		fs.EachError(func(t string, p int32, err error) {
			if ferr == nil && !errors.Is(err, context.Canceled) {
				ferr = fmt.Errorf("bench: ceiling: %s[%d]: %w", t, p, err)
			}
		})
		if ferr != nil {
			return res, ferr
		}
		var n, b int64
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			n += int64(len(p.Records))
			for _, r := range p.Records {
				b += int64(len(r.Key) + len(r.Value))
			}
		})
		if n == 0 {
			continue
		}
		now := time.Now()
		res.Records += n
		res.Bytes += b
		if first.IsZero() {
			first, cFirst = now, res.Records
		}
		if progress != nil {
			progress.Add(n)
		}
	}
	end := time.Now()
	res.CPU = CPUTime() - cpu0
	res.Startup = first.Sub(start)
	res.Elapsed = end.Sub(first)
	if s := res.Elapsed.Seconds(); s > 0 {
		res.RecordsPerSec = float64(res.Records) / s
		res.BytesPerSec = float64(res.Bytes) / s
	}
	// The first poll returns what was fetched while the group formed: the
	// steady rate counts the records after it — if they are most of them.
	if s := end.Sub(first).Seconds(); s > 0 && res.Records-cFirst >= res.Records/2 {
		res.SteadyRecordsPerSec = float64(res.Records-cFirst) / s
	} else {
		res.Small = true
		res.SteadyRecordsPerSec = float64(res.Records) / max(end.Sub(start).Seconds(), 1e-9)
	}
	return res, nil
}
