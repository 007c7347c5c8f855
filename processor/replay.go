package processor

import (
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/bedrockwatch/bedrockwatch/processor/rules"
	"github.com/bedrockwatch/bedrockwatch/schemas"
)

// ReplayConfig configures a Replayer.
type ReplayConfig struct {
	Engine Config
	// Decode configures the decoder, except DropRaw, which NewReplayer
	// sets: records keep their raw JSON only when a rule reads it.
	Decode schemas.Config
	// MaxDocumentBytes bounds one document of a file (a CloudTrail log file
	// is one document). Default 256 MiB.
	MaxDocumentBytes int
}

// DefaultReplayConfig returns the defaults.
func DefaultReplayConfig() ReplayConfig {
	return ReplayConfig{Engine: DefaultConfig(), Decode: schemas.DefaultConfig(), MaxDocumentBytes: 256 << 20}
}

// ReplayStats accounts for every record read: for each source,
// Events + Filtered + Skipped + Malformed is everything found.
type ReplayStats struct {
	Files     int
	Bytes     int64 // decompressed bytes read
	Documents int64
	// Records counts records by source (cloudtrail, invocation, endpoint,
	// unknown) and status (event, filtered, skipped, malformed).
	Records   map[schemas.Source]map[schemas.Status]int64
	Malformed map[string]int64 // by reason
	Late      int64
	Alerts    map[string]int64 // by rule id, follow-ups included
	Elapsed   time.Duration
}

// Total returns the records of one status over all sources.
func (s ReplayStats) Total(st schemas.Status) int64 {
	var n int64
	for _, m := range s.Records {
		n += m[st]
	}
	return n
}

// Replayer runs the engine over files: documents are split, decoded and
// evaluated in file order, with one partition's state. The end of input is
// the end of the stream (Finish). It is not safe for concurrent use.
type Replayer struct {
	cfg   ReplayConfig
	dec   *schemas.Decoder
	en    *Engine
	stats ReplayStats
	// counts holds stats.Records for the known sources and statuses: two
	// map updates per record cost more than filtering a CloudTrail record.
	counts [4][4]int64
	start  time.Time
	// progress counters, readable from another goroutine
	readBytes, readRecords atomic.Int64
	// OnMalformed, if set, is told of every malformed record with its file
	// and line. err never holds record content.
	OnMalformed func(file string, line int, err error)
}

// NewReplayer returns a Replayer running rs on store.
//
// Events are decoded without their raw JSON (schemas.Config.DropRaw) unless
// a rule of rs reads a field from it (rulesReadRaw): the alerts are the same
// without the copy of every record.
func NewReplayer(rs []*rules.Rule, store Store, cfg ReplayConfig, emit func(*schemas.Alert)) (*Replayer, error) {
	return newReplayer(rs, store, cfg, emit, !rulesReadRaw(rs))
}

// newReplayer is NewReplayer with the choice of dropping raw records made by
// the caller, so that tests can compare the two.
func newReplayer(rs []*rules.Rule, store Store, cfg ReplayConfig, emit func(*schemas.Alert), dropRaw bool) (*Replayer, error) {
	if cfg.MaxDocumentBytes <= 0 {
		return nil, fmt.Errorf("replay: max document bytes must be positive")
	}
	dc := cfg.Decode
	if dc.MaxRecordBytes < cfg.MaxDocumentBytes {
		dc.MaxRecordBytes = cfg.MaxDocumentBytes
	}
	dc.DropRaw = dropRaw
	dec, err := schemas.NewDecoder(dc)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	rp := &Replayer{cfg: cfg, dec: dec, start: time.Now(), stats: ReplayStats{
		Records: map[schemas.Source]map[schemas.Status]int64{}, Malformed: map[string]int64{}, Alerts: map[string]int64{},
	}}
	rp.en, err = New(rs, store, cfg.Engine, emit)
	if err != nil {
		return nil, err
	}
	return rp, nil
}

// ReadFile replays one file's content (gzip or not). name is the file as the
// user named it; it is recorded in evidence. An error means r could not be
// read, or the engine's store failed: bad content is counted, not an error.
func (rp *Replayer) ReadFile(name string, r io.Reader) error {
	rp.stats.Files++
	zr, err := schemas.OpenMaybeGzip(r)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer zr.Close()
	counted := &countingReader{r: zr, n: &rp.readBytes}
	before := rp.readBytes.Load()
	var procErr error
	var doc int64
	err = schemas.SplitDocuments(counted, rp.cfg.MaxDocumentBytes, func(d schemas.Document) error {
		origin := schemas.Origin{File: name, Line: d.Line, Offset: doc}
		doc++
		rp.stats.Documents++
		if d.Oversized {
			rp.count(schemas.SourceUnknown, schemas.StatusMalformed)
			rp.malformed(name, d.Line, &schemas.MalformedError{Reason: schemas.ReasonOversized, Detail: fmt.Sprintf("document of %d bytes exceeds %d", d.Size, rp.cfg.MaxDocumentBytes)})
			return nil
		}
		var records int64
		rp.dec.Decode(d.Data, origin, func(rec schemas.Record) {
			records++
			rp.count(rec.Source, rec.Status)
			switch rec.Status {
			case schemas.StatusMalformed:
				rp.malformed(name, d.Line, rec.Err)
			case schemas.StatusEvent:
				if procErr == nil {
					procErr = rp.en.Process(rec.Event)
				}
			}
		})
		rp.readRecords.Add(records)
		return procErr
	})
	rp.stats.Bytes += rp.readBytes.Load() - before
	if err != nil {
		if procErr != nil {
			return fmt.Errorf("%s: %w", name, procErr)
		}
		return fmt.Errorf("%s: reading: %w", name, err)
	}
	return nil
}

// Finish ends the replay. With flush, the end of input is the end of the
// stream: open suppression periods and windows close and emit what they
// hold. Without it, they stay open in the store, with the engine's clock, so
// that a later replay on the same store continues exactly where this one
// stopped (replay --state-dir).
func (rp *Replayer) Finish(flush bool) error {
	if flush {
		return rp.en.Flush()
	}
	return rp.en.Checkpoint()
}

// Stats returns the counters so far.
func (rp *Replayer) Stats() ReplayStats {
	s := rp.stats
	s.Records = make(map[schemas.Source]map[schemas.Status]int64, len(rp.stats.Records)+2)
	for src, m := range rp.stats.Records {
		s.Records[src] = copyStatusCounts(m)
	}
	for src := range rp.counts {
		for st, n := range rp.counts[src] {
			if n == 0 {
				continue
			}
			m := s.Records[schemas.Source(src)]
			if m == nil {
				m = map[schemas.Status]int64{}
				s.Records[schemas.Source(src)] = m
			}
			m[schemas.Status(st)] += n
		}
	}
	es := rp.en.Stats()
	s.Late = es.Late
	s.Alerts = es.Alerts
	s.Elapsed = time.Since(rp.start)
	return s
}

func copyStatusCounts(m map[schemas.Status]int64) map[schemas.Status]int64 {
	out := make(map[schemas.Status]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (rp *Replayer) count(src schemas.Source, st schemas.Status) {
	if int(src) < len(rp.counts) && int(st) < len(rp.counts[src]) {
		rp.counts[src][st]++
		return
	}
	m := rp.stats.Records[src]
	if m == nil {
		m = map[schemas.Status]int64{}
		rp.stats.Records[src] = m
	}
	m[st]++
}

func (rp *Replayer) malformed(file string, line int, err error) {
	var me *schemas.MalformedError
	reason := "malformed"
	if errors.As(err, &me) {
		reason = me.Reason
	}
	rp.stats.Malformed[reason]++
	if rp.OnMalformed != nil {
		rp.OnMalformed(file, line, err)
	}
}

// Progress returns the bytes and records read so far. Unlike the other
// methods it may be called from any goroutine.
func (rp *Replayer) Progress() (bytes, records int64) {
	return rp.readBytes.Load(), rp.readRecords.Load()
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
