package bench

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TxnStats watches one service replica from the outside, without touching
// its code: as a franz-go hook on its Kafka clients (Hook) it counts the
// records polled and produced by topic, the requests by kind with their
// round trips, and the batches with their compression; as its metrics sink
// (it has the methods of service.Metrics) it counts the transactions. From
// the poll starts, the first record each poll returns, the last partition
// processed and the end of each transaction it splits the poll loop's wall
// time into: waiting in PollRecords, processing (decode, route, engine),
// ending the transaction (alerts and changelog produced, flush, offsets,
// EndTxn) and the rest until the next poll (afterCommit: Badger writes).
//
// Safe for concurrent use; the phase accounting assumes one poll loop.
type TxnStats struct {
	mu sync.Mutex

	polled   map[string]int64 // topic → records returned by polls
	produced map[string]int64 // topic → records acknowledged
	prodSize map[string]int64 // topic → bytes (keys, values, headers) acknowledged
	failed   int64            // records whose produce failed
	reqs     map[int16]*ReqStats
	prodB    batchStats // produce batches written
	fetchB   batchStats // fetch batches read

	Commits, Aborts int64
	Polls           int64 // PollRecords calls
	EmptyPolls      int64 // that returned no record

	// Wall time of the poll loop by phase.
	PollWait, Process, End, After, Idle time.Duration
	// EndMax is the longest End phase.
	EndMax time.Duration

	state           int // 0 none, 1 polling, 2 processing, 3 committed
	tPoll, tFirst   time.Time
	tLastProc, tTxn time.Time
	pollRecs        int64
	maxTxnRecs      int64
	txnRecs         []int64 // records polled per transaction (sampled: all)
	consumedByDS    map[string]int64
	deadLettered    int64
	late            int64
	alerts          int64
}

// ReqStats is what one kind of request cost.
type ReqStats struct {
	N                   int64
	BytesOut, BytesIn   int64
	RoundTrip, WaitSend time.Duration // e2e (write to read end), queued before write
	MaxRoundTrip        time.Duration
}

type batchStats struct {
	n, records, compressed, uncompressed int64
	codecs                               map[uint8]int64
}

func (b *batchStats) add(n, unc, comp int, codec uint8) {
	b.n++
	b.records += int64(n)
	b.compressed += int64(comp)
	b.uncompressed += int64(unc)
	if b.codecs == nil {
		b.codecs = map[uint8]int64{}
	}
	b.codecs[codec]++
}

// NewTxnStats returns an empty TxnStats.
func NewTxnStats() *TxnStats {
	return &TxnStats{polled: map[string]int64{}, produced: map[string]int64{}, prodSize: map[string]int64{}, reqs: map[int16]*ReqStats{},
		consumedByDS: map[string]int64{}}
}

var (
	_ kgo.HookBrokerE2E               = (*TxnStats)(nil)
	_ kgo.HookPollStart               = (*TxnStats)(nil)
	_ kgo.HookFetchRecordUnbuffered   = (*TxnStats)(nil)
	_ kgo.HookProduceRecordUnbuffered = (*TxnStats)(nil)
	_ kgo.HookProduceBatchWritten     = (*TxnStats)(nil)
	_ kgo.HookFetchBatchRead          = (*TxnStats)(nil)
)

// OnBrokerE2E implements kgo.HookBrokerE2E.
func (s *TxnStats) OnBrokerE2E(_ kgo.BrokerMetadata, key int16, e kgo.BrokerE2E) {
	s.mu.Lock()
	r := s.reqs[key]
	if r == nil {
		r = &ReqStats{}
		s.reqs[key] = r
	}
	r.N++
	r.BytesOut += int64(e.BytesWritten)
	r.BytesIn += int64(e.BytesRead)
	d := e.DurationE2E()
	r.RoundTrip += d
	r.WaitSend += e.WriteWait
	r.MaxRoundTrip = max(r.MaxRoundTrip, d)
	s.mu.Unlock()
}

// OnPollStart implements kgo.HookPollStart.
func (s *TxnStats) OnPollStart(context.Context) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Polls++
	switch s.state {
	case 3:
		s.After += now.Sub(s.tTxn)
	case 1:
		// The previous poll returned nothing and no transaction followed.
		s.EmptyPolls++
		s.Idle += now.Sub(s.tPoll)
	case 2:
		// Records, and no transaction (the service skipped it).
		s.Process += now.Sub(s.tFirst)
	}
	s.state, s.tPoll, s.pollRecs = 1, now, 0
}

// OnFetchRecordUnbuffered implements kgo.HookFetchRecordUnbuffered: called
// for each record a poll returns, as the poll returns.
func (s *TxnStats) OnFetchRecordUnbuffered(r *kgo.Record, polled bool) {
	if !polled {
		return
	}
	s.mu.Lock()
	if s.state == 1 {
		now := time.Now()
		s.PollWait += now.Sub(s.tPoll)
		s.state, s.tFirst, s.tLastProc = 2, now, now
	}
	s.pollRecs++
	s.polled[r.Topic]++
	s.mu.Unlock()
}

// OnProduceRecordUnbuffered implements kgo.HookProduceRecordUnbuffered.
func (s *TxnStats) OnProduceRecordUnbuffered(r *kgo.Record, err error) {
	s.mu.Lock()
	if err != nil {
		s.failed++
	} else {
		s.produced[r.Topic]++
		n := len(r.Key) + len(r.Value)
		for _, h := range r.Headers {
			n += len(h.Key) + len(h.Value)
		}
		s.prodSize[r.Topic] += int64(n)
	}
	s.mu.Unlock()
}

// OnProduceBatchWritten implements kgo.HookProduceBatchWritten.
func (s *TxnStats) OnProduceBatchWritten(_ kgo.BrokerMetadata, _ string, _ int32, m kgo.ProduceBatchMetrics) {
	s.mu.Lock()
	s.prodB.add(m.NumRecords, m.UncompressedBytes, m.CompressedBytes, m.CompressionType)
	s.mu.Unlock()
}

// OnFetchBatchRead implements kgo.HookFetchBatchRead.
func (s *TxnStats) OnFetchBatchRead(_ kgo.BrokerMetadata, _ string, _ int32, m kgo.FetchBatchMetrics) {
	s.mu.Lock()
	s.fetchB.add(m.NumRecords, m.UncompressedBytes, m.CompressedBytes, m.CompressionType)
	s.mu.Unlock()
}

// The methods of service.Metrics.

func (s *TxnStats) Consumed(_ context.Context, _, dataset string, n int64) {
	s.mu.Lock()
	s.consumedByDS[dataset] += n
	s.mu.Unlock()
}
func (s *TxnStats) DeadLettered(_ context.Context, _ string, n int64) {
	s.mu.Lock()
	s.deadLettered += n
	s.mu.Unlock()
}
func (s *TxnStats) Late(_ context.Context, n int64) {
	s.mu.Lock()
	s.late += n
	s.mu.Unlock()
}
func (s *TxnStats) Alert(context.Context, string, string) {
	s.mu.Lock()
	s.alerts++
	s.mu.Unlock()
}

// ProcessDuration is called after each partition of a poll is processed.
func (s *TxnStats) ProcessDuration(context.Context, string, float64) {
	now := time.Now()
	s.mu.Lock()
	if s.state == 2 {
		s.tLastProc = now
	}
	s.mu.Unlock()
}
func (s *TxnStats) EventToAlert(context.Context, string, float64) {}
func (s *TxnStats) SetLag(string, int32, int64)                   {}
func (s *TxnStats) DropPartition(string, int32)                   {}
func (s *TxnStats) SetWatermarkDelay(int32, float64)              {}
func (s *TxnStats) SetRestore(int32, int64)                       {}
func (s *TxnStats) SetStateSize(int64, int64)                     {}
func (s *TxnStats) DropStatePartition(int32)                      {}

// Transaction is called when a transaction ended.
func (s *TxnStats) Transaction(_ context.Context, committed bool) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if committed {
		s.Commits++
	} else {
		s.Aborts++
	}
	var end time.Duration
	switch s.state {
	case 2:
		s.Process += s.tLastProc.Sub(s.tFirst)
		end = now.Sub(s.tLastProc)
	case 1: // a transaction without records (the watermark moved)
		end = now.Sub(s.tPoll)
	}
	s.End += end
	s.EndMax = max(s.EndMax, end)
	s.txnRecs = append(s.txnRecs, s.pollRecs)
	s.maxTxnRecs = max(s.maxTxnRecs, s.pollRecs)
	s.state, s.tTxn = 3, now
}

// TxnSummary is the sum of some TxnStats, for the report.
type TxnSummary struct {
	Replicas        int              `json:"replicas"`
	Commits         int64            `json:"commits"`
	Aborts          int64            `json:"aborts"`
	Polls           int64            `json:"polls"`
	EmptyPolls      int64            `json:"empty_polls"`
	Polled          map[string]int64 `json:"polled_by_topic"`
	Produced        map[string]int64 `json:"produced_by_topic"`
	ProducedBytes   map[string]int64 `json:"produced_bytes_by_topic"`
	ProduceFailed   int64            `json:"produce_failed"`
	ConsumedByDS    map[string]int64 `json:"consumed_by_dataset"`
	DeadLettered    int64            `json:"dead_lettered"`
	Late            int64            `json:"late"`
	RecordsPerTxn   float64          `json:"records_per_txn"`
	P50TxnRecords   int64            `json:"p50_txn_records"`
	P90TxnRecords   int64            `json:"p90_txn_records"`
	MaxTxnRecords   int64            `json:"max_txn_records"`
	PollWaitSeconds float64          `json:"poll_wait_seconds"`
	ProcessSeconds  float64          `json:"process_seconds"`
	EndSeconds      float64          `json:"end_seconds"`
	EndMaxMs        float64          `json:"end_max_ms"`
	AfterSeconds    float64          `json:"after_commit_seconds"`
	IdleSeconds     float64          `json:"idle_seconds"`
	// Requests by name: count, bytes, mean and max round trip.
	Requests map[string]ReqSummary `json:"requests"`
	// Batches produced and fetched, and their codecs.
	ProduceBatches BatchSummary `json:"produce_batches"`
	FetchBatches   BatchSummary `json:"fetch_batches"`
}

// ReqSummary is ReqStats for the report.
type ReqSummary struct {
	N           int64   `json:"n"`
	BytesOut    int64   `json:"bytes_out"`
	BytesIn     int64   `json:"bytes_in"`
	MeanMs      float64 `json:"mean_ms"`
	MaxMs       float64 `json:"max_ms"`
	MeanQueueMs float64 `json:"mean_queue_ms"`
}

// BatchSummary is what batches held.
type BatchSummary struct {
	N            int64            `json:"n"`
	Records      int64            `json:"records"`
	Compressed   int64            `json:"compressed_bytes"`
	Uncompressed int64            `json:"uncompressed_bytes"`
	Codecs       map[string]int64 `json:"codecs"`
}

var codecNames = map[uint8]string{0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}

// Summarize sums ss.
func Summarize(ss []*TxnStats) TxnSummary {
	out := TxnSummary{Replicas: len(ss), Polled: map[string]int64{}, Produced: map[string]int64{}, ProducedBytes: map[string]int64{}, ConsumedByDS: map[string]int64{},
		Requests: map[string]ReqSummary{}}
	reqs := map[int16]*ReqStats{}
	var txnRecs []int64
	var pb, fb batchStats
	var pollWait, process, end, after, idle, endMax time.Duration
	for _, s := range ss {
		s.mu.Lock()
		out.Commits += s.Commits
		out.Aborts += s.Aborts
		out.Polls += s.Polls
		out.EmptyPolls += s.EmptyPolls
		for k, v := range s.polled {
			out.Polled[k] += v
		}
		for k, v := range s.produced {
			out.Produced[k] += v
		}
		for k, v := range s.prodSize {
			out.ProducedBytes[k] += v
		}
		for k, v := range s.consumedByDS {
			out.ConsumedByDS[k] += v
		}
		out.ProduceFailed += s.failed
		out.DeadLettered += s.deadLettered
		out.Late += s.late
		for k, r := range s.reqs {
			t := reqs[k]
			if t == nil {
				t = &ReqStats{}
				reqs[k] = t
			}
			t.N += r.N
			t.BytesOut += r.BytesOut
			t.BytesIn += r.BytesIn
			t.RoundTrip += r.RoundTrip
			t.WaitSend += r.WaitSend
			t.MaxRoundTrip = max(t.MaxRoundTrip, r.MaxRoundTrip)
		}
		for _, b := range []struct{ from, to *batchStats }{{&s.prodB, &pb}, {&s.fetchB, &fb}} {
			b.to.n += b.from.n
			b.to.records += b.from.records
			b.to.compressed += b.from.compressed
			b.to.uncompressed += b.from.uncompressed
			for c, n := range b.from.codecs {
				if b.to.codecs == nil {
					b.to.codecs = map[uint8]int64{}
				}
				b.to.codecs[c] += n
			}
		}
		txnRecs = append(txnRecs, s.txnRecs...)
		pollWait += s.PollWait
		process += s.Process
		end += s.End
		after += s.After
		idle += s.Idle
		endMax = max(endMax, s.EndMax)
		s.mu.Unlock()
	}
	var polled int64
	for _, v := range out.Polled {
		polled += v
	}
	if n := out.Commits + out.Aborts; n > 0 {
		out.RecordsPerTxn = float64(polled) / float64(n)
	}
	if len(txnRecs) > 0 {
		sort.Slice(txnRecs, func(i, j int) bool { return txnRecs[i] < txnRecs[j] })
		out.P50TxnRecords = txnRecs[len(txnRecs)/2]
		out.P90TxnRecords = txnRecs[len(txnRecs)*9/10]
		out.MaxTxnRecords = txnRecs[len(txnRecs)-1]
	}
	out.PollWaitSeconds, out.ProcessSeconds, out.EndSeconds = pollWait.Seconds(), process.Seconds(), end.Seconds()
	out.AfterSeconds, out.IdleSeconds = after.Seconds(), idle.Seconds()
	out.EndMaxMs = float64(endMax.Microseconds()) / 1000
	for k, r := range reqs {
		name := kmsg.NameForKey(k)
		if name == "" {
			name = fmt.Sprintf("key%d", k)
		}
		out.Requests[name] = ReqSummary{N: r.N, BytesOut: r.BytesOut, BytesIn: r.BytesIn,
			MeanMs:      float64(r.RoundTrip.Microseconds()) / 1000 / float64(max(r.N, 1)),
			MaxMs:       float64(r.MaxRoundTrip.Microseconds()) / 1000,
			MeanQueueMs: float64(r.WaitSend.Microseconds()) / 1000 / float64(max(r.N, 1))}
	}
	conv := func(b batchStats) BatchSummary {
		bs := BatchSummary{N: b.n, Records: b.records, Compressed: b.compressed, Uncompressed: b.uncompressed, Codecs: map[string]int64{}}
		for c, n := range b.codecs {
			name := codecNames[c]
			if name == "" {
				name = fmt.Sprint(c)
			}
			bs.Codecs[name] += n
		}
		return bs
	}
	out.ProduceBatches, out.FetchBatches = conv(pb), conv(fb)
	return out
}

// Lines formats s for the table; events names the routed events topic.
func (s TxnSummary) Lines(events string) []string {
	var polledIn, polledEv int64
	for t, n := range s.Polled {
		if t == events {
			polledEv += n
		} else {
			polledIn += n
		}
	}
	var prodEv, prodOther int64
	var other []string
	for t, n := range s.Produced {
		if t == events {
			prodEv += n
		} else {
			prodOther += n
			other = append(other, fmt.Sprintf("%s %d (%.1f MB)", t, n, float64(s.ProducedBytes[t])/1e6))
		}
	}
	sort.Strings(other)
	wall := s.PollWaitSeconds + s.ProcessSeconds + s.EndSeconds + s.AfterSeconds + s.IdleSeconds
	pct := func(x float64) float64 { return 100 * x / max(wall, 1e-9) }
	lines := []string{
		fmt.Sprintf("transactions: %d committed, %d aborted; %d polls (%d empty); records per transaction mean %.0f, p50 %d, p90 %d, max %d",
			s.Commits, s.Aborts, s.Polls, s.EmptyPolls, s.RecordsPerTxn, s.P50TxnRecords, s.P90TxnRecords, s.MaxTxnRecords),
		fmt.Sprintf("records polled: %d input, %d routed events; produced: %d routed events (%.3f per input record, %.1f MB), %s",
			polledIn, polledEv, prodEv, float64(prodEv)/max(float64(polledIn), 1), float64(s.ProducedBytes[events])/1e6, strings.Join(other, ", ")),
		fmt.Sprintf("poll loop wall time (summed over %d replica(s), %.1f s): in PollRecords %.0f%%, processing %.0f%%, ending transactions %.0f%% (max %.0f ms), after commit %.0f%%, empty polls %.0f%%",
			s.Replicas, wall, pct(s.PollWaitSeconds), pct(s.ProcessSeconds), pct(s.EndSeconds), s.EndMaxMs, pct(s.AfterSeconds), pct(s.IdleSeconds)),
	}
	names := make([]string, 0, len(s.Requests))
	for n := range s.Requests {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return s.Requests[names[i]].N > s.Requests[names[j]].N })
	var rq []string
	for _, n := range names {
		r := s.Requests[n]
		rq = append(rq, fmt.Sprintf("%s %d (%.1f ms mean, %.0f max)", n, r.N, r.MeanMs, r.MaxMs))
	}
	lines = append(lines, "requests: "+strings.Join(rq, ", "))
	b := func(what string, bs BatchSummary) string {
		var cs []string
		for c, n := range bs.Codecs {
			cs = append(cs, fmt.Sprintf("%s %d", c, n))
		}
		sort.Strings(cs)
		return fmt.Sprintf("%s %d batches, %.0f records/batch, %.1f MB (%.1f MB compressed; %s)", what, bs.N,
			float64(bs.Records)/max(float64(bs.N), 1), float64(bs.Uncompressed)/1e6, float64(bs.Compressed)/1e6, strings.Join(cs, ", "))
	}
	lines = append(lines, b("fetched", s.FetchBatches)+"; "+b("produced", s.ProduceBatches))
	return lines
}
