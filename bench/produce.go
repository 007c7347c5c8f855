package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// ProducerConfig tunes the client Produce writes with.
type ProducerConfig struct {
	// Compression: none, snappy, lz4 or zstd.
	Compression string
	// Linger is how long a batch waits for more records.
	Linger time.Duration
	// MaxInFlight bounds the records handed to the client and not yet
	// acknowledged: Produce blocks beyond it.
	MaxInFlight int
	// BatchBytes is the largest batch per partition.
	BatchBytes int32
}

// DefaultProducerConfig returns settings measured to write fastest to a
// local broker: snappy, 5 ms linger, 64k records in flight, 1 MB batches.
func DefaultProducerConfig() ProducerConfig {
	return ProducerConfig{Compression: "snappy", Linger: 5 * time.Millisecond, MaxInFlight: 1 << 16, BatchBytes: 1 << 20}
}

// Opts returns the kgo options of c (add kgo.SeedBrokers and any
// security options).
func (c ProducerConfig) Opts() ([]kgo.Opt, error) {
	var codec kgo.CompressionCodec
	switch strings.ToLower(c.Compression) {
	case "", "none":
		codec = kgo.NoCompression()
	case "snappy":
		codec = kgo.SnappyCompression()
	case "lz4":
		codec = kgo.Lz4Compression()
	case "zstd":
		codec = kgo.ZstdCompression()
	default:
		return nil, fmt.Errorf("bench: compression %q: want none, snappy, lz4 or zstd", c.Compression)
	}
	if c.MaxInFlight < 1 {
		return nil, fmt.Errorf("bench: max in flight must be positive, got %d", c.MaxInFlight)
	}
	opts := []kgo.Opt{
		kgo.ProducerBatchCompression(codec),
		kgo.ProducerLinger(c.Linger),
		kgo.MaxBufferedRecords(c.MaxInFlight),
	}
	if c.BatchBytes > 0 {
		opts = append(opts, kgo.ProducerBatchMaxBytes(c.BatchBytes))
	}
	return opts, nil
}

// ProduceOptions says what Produce writes and when it stops: at Records
// records, after Duration, or at MaxBytes bytes of keys and values,
// whichever comes first (zero: no such limit; at least one must be set).
type ProduceOptions struct {
	Topics   Topics
	Records  int64
	Duration time.Duration
	MaxBytes int64
	// Rate paces the records per second; zero writes as fast as the client
	// takes them. A paced Produce that falls behind (the client blocked)
	// does not burst to catch up: the load stays steady, and the result
	// says the rate reached.
	Rate float64
	// OnRecord, if set, is called in Produce's goroutine with each record
	// right after it was handed to the client, and the wall time it was.
	OnRecord func(r Record, at time.Time)
	// Progress, if set, counts the records handed to the client.
	Progress *atomic.Int64
}

// ProduceResult is what Produce measured. Elapsed runs from the first
// record to the acknowledgement of the last.
type ProduceResult struct {
	Records, Bytes int64
	Elapsed        time.Duration
	CPU            time.Duration
	RecordsPerSec  float64
	BytesPerSec    float64
}

// Produce writes g's records to the topics of o with cl, keyed as
// generated, and waits until every record is acknowledged. Create cl with
// ProducerConfig.Opts. It stops early, with ctx's error, when ctx ends, and
// with the first produce error when a record fails.
func Produce(ctx context.Context, cl *kgo.Client, g *Generator, o ProduceOptions) (ProduceResult, error) {
	if o.Records <= 0 && o.Duration <= 0 && o.MaxBytes <= 0 {
		return ProduceResult{}, errors.New("bench: produce: set records, duration or max bytes")
	}
	var (
		errMu    sync.Mutex
		firstErr error
		failed   atomic.Bool
	)
	done := func(_ *kgo.Record, err error) {
		if err != nil && !failed.Swap(true) {
			errMu.Lock()
			firstErr = err
			errMu.Unlock()
		}
	}
	start := time.Now()
	cpu0 := CPUTime()
	var res ProduceResult
	var skipped int64 // records the pacing gave up on (see below)
	var deadline time.Time
	if o.Duration > 0 {
		deadline = start.Add(o.Duration)
	}
	for {
		if o.Records > 0 && res.Records >= o.Records {
			break
		}
		if o.MaxBytes > 0 && res.Bytes >= o.MaxBytes {
			break
		}
		if res.Records&1023 == 0 {
			if !deadline.IsZero() && time.Now().After(deadline) {
				break
			}
			if ctx.Err() != nil || failed.Load() {
				break
			}
		}
		if o.Rate > 0 {
			due := int64(o.Rate*time.Since(start).Seconds()) - skipped
			if res.Records >= due {
				if !deadline.IsZero() && time.Now().After(deadline) {
					break
				}
				select {
				case <-ctx.Done():
				case <-time.After(time.Millisecond):
				}
				if ctx.Err() != nil {
					break
				}
				continue
			}
			// More than 100 ms behind (the client blocked): skip the
			// deficit rather than burst to catch up, so the load stays
			// steady.
			if slack := int64(o.Rate / 10); due-res.Records > slack {
				skipped += due - res.Records - slack
			}
		}
		r := g.Next()
		rec := &kgo.Record{Topic: o.Topics.Of(r.Stream), Key: r.Key, Value: r.Value, Timestamp: time.Now()}
		cl.Produce(ctx, rec, done)
		if o.OnRecord != nil {
			o.OnRecord(r, rec.Timestamp)
		}
		res.Records++
		res.Bytes += int64(len(r.Key) + len(r.Value))
		if o.Progress != nil {
			o.Progress.Add(1)
		}
	}
	ferr := cl.Flush(ctx)
	res.Elapsed = time.Since(start)
	res.CPU = CPUTime() - cpu0
	if s := res.Elapsed.Seconds(); s > 0 {
		res.RecordsPerSec = float64(res.Records) / s
		res.BytesPerSec = float64(res.Bytes) / s
	}
	errMu.Lock()
	defer errMu.Unlock()
	switch {
	case firstErr != nil:
		return res, fmt.Errorf("bench: produce: %w", firstErr)
	case ctx.Err() != nil:
		return res, ctx.Err()
	case ferr != nil:
		return res, fmt.Errorf("bench: produce: %w", ferr)
	}
	return res, nil
}
