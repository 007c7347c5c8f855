package processor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bedrockwatch/bedrockwatch/processor/rules"
	"github.com/bedrockwatch/bedrockwatch/schemas"
)

// outlierRunner runs an outlier rule: per group it computes a value per
// bucket of event time (buckets aligned on multiples of the bucket length
// since the Unix epoch) — the count of matching events, the sum of a value,
// or its maximum — and when the watermark passes a bucket's end (or the
// stream ends) compares it with the group's previous `baseline` of buckets:
// it alerts when value > mean + k·stddev and value ≥ floor.
//
// Empty buckets. For count and sum an empty bucket is a zero, so the
// baseline always spans baseline/bucket buckets (a group that appears after
// the learning period has a baseline of zeros). For max an empty bucket has
// no maximum: the baseline is over the non-empty buckets only, and with none
// mean and stddev are 0. The standard deviation is the population one.
//
// Learning. A bucket is judged only if it starts at least `baseline` after
// the earliest event time the rule has observed (stored, so it survives
// restarts): until then buckets only feed the baselines.
//
// Order. Open buckets are kept until the watermark passes their end, so
// events within the allowed lateness count whatever their arrival order. A
// later event of a bucket already judged is added to the baseline, not
// judged again.
//
// State per group: the open buckets (usually one or two; ~100 bytes plus one
// snap each) under "o/<rule>/<group>", and the baseline under
// "o/<rule>/<group>\x00h": the index and value of each non-empty bucket in
// the baseline span, at most baseline/bucket pairs (720 for 30 days of hours:
// ≤ 720 × 3 bytes for small integral values, 720 × 11 at worst), changed
// once per closed bucket and, like the open buckets, written behind
// (encoded at the next sync, see writeBehind). The baseline
// goes when the group has been silent for a whole baseline span. Evidence is
// the first MaxEvidence events of the bucket (under their own keys) or, for
// max, the event that set the maximum.
type outlierRunner struct {
	stateful
	o        *rules.Outlier
	bucket   time.Duration
	nb       int64   // buckets in the baseline
	lastHist keyMemo // see histKey
}

func newOutlierRunner(en *Engine, r *rules.Rule) *outlierRunner {
	o := r.Outlier
	return &outlierRunner{stateful: newStateful(en, r, "o", r.GroupBy), o: o, bucket: o.Bucket.D(),
		nb: int64(o.Baseline.D() / o.Bucket.D())}
}

const histSuffix = metaSep + "h"

// histKey returns the key of the baseline of group key.
func (o *outlierRunner) histKey(key string) string { return o.lastHist.get(o.prefix, key, histSuffix) }

type oBucket struct {
	S    int64     `json:"s"` // start, Unix ms
	V    float64   `json:"v"`
	N    int       `json:"n"`
	Last int64     `json:"l"`
	Top  *snap     `json:"top,omitempty"` // the max event, or the first
	PTok int64     `json:"pt,omitempty"`
	CTok int64     `json:"ct,omitempty"`
	Cost costTally `json:"cost"`
}

type oOpen struct {
	Open     []oBucket `json:"b"` // by start
	Seq      int       `json:"seq"`
	Deadline int64     `json:"d"`
}

// oHist is the baseline of a group: the non-empty closed buckets of the
// baseline span. It is stored in binary (see encode), about 3 bytes a bucket
// for small integral values.
type oHist struct {
	Idx      []int64   // bucket index (start / bucket), ascending
	V        []float64 // their values
	Deadline int64     // Unix ms of the expiry entry; 0 none
}

// encode writes varint(deadline), then per bucket uvarint(index delta << 1 |
// integral) and the value as a zigzag varint when integral, else its float64
// bits.
func (h *oHist) encode() []byte {
	buf := binary.AppendVarint(make([]byte, 0, 8+len(h.Idx)*4), h.Deadline)
	var prev int64
	for i, x := range h.Idx {
		v := h.V[i]
		integral := v == math.Trunc(v) && math.Abs(v) < 1<<53
		tag := uint64(x-prev) << 1
		if integral {
			tag |= 1
		}
		buf = binary.AppendUvarint(buf, tag)
		if integral {
			buf = binary.AppendVarint(buf, int64(v))
		} else {
			buf = binary.AppendUvarint(buf, math.Float64bits(v))
		}
		prev = x
	}
	return buf
}

func (h *oHist) decode(b []byte) error {
	bad := errors.New("outlier baseline: bad encoding")
	d, n := binary.Varint(b)
	if n <= 0 {
		return bad
	}
	h.Deadline, b = d, b[n:]
	var prev int64
	for len(b) > 0 {
		tag, n := binary.Uvarint(b)
		if n <= 0 {
			return bad
		}
		b = b[n:]
		prev += int64(tag >> 1)
		var v float64
		if tag&1 == 1 {
			x, n := binary.Varint(b)
			if n <= 0 {
				return bad
			}
			v, b = float64(x), b[n:]
		} else {
			x, n := binary.Uvarint(b)
			if n <= 0 {
				return bad
			}
			v, b = math.Float64frombits(x), b[n:]
		}
		h.Idx = append(h.Idx, prev)
		h.V = append(h.V, v)
	}
	return nil
}

func (o *outlierRunner) getHist(full string) (*oHist, bool, error) {
	if h, ok := o.en.pending.m[full].(*oHist); ok {
		return h, true, nil // written at the next sync
	}
	raw, ok, err := o.en.store.Get(full)
	if err != nil || !ok {
		return &oHist{}, false, err
	}
	if v, hit := o.en.cache.take(full, raw); hit {
		if h, ok := v.(*oHist); ok {
			return h, true, nil
		}
	}
	h := &oHist{}
	if err := h.decode(raw); err != nil {
		return nil, false, fmt.Errorf("%q: %w", full, err)
	}
	return h, true, nil
}

// ring returns the evidence ring of the group whose state key is full.
func (o *outlierRunner) ring(full string) evidenceRing {
	// Two buckets may be open at once, each keeping its first MaxEvidence.
	return evidenceRing{s: &o.stateful, base: full, n: 2 * o.en.cfg.MaxEvidence}
}

// valueOf returns the event's contribution, or false when it has none.
func (o *outlierRunner) valueOf(e *schemas.Event) (float64, bool) {
	if o.o.Op == rules.OpCount {
		return 1, true
	}
	v := o.o.Arg(e)
	if v.Kind != schemas.Number || math.IsNaN(v.Num) || math.IsInf(v.Num, 0) {
		return 0, false
	}
	return v.Num, true
}

func (o *outlierRunner) fold(old float64, n int, v float64) float64 {
	switch o.o.Op {
	case rules.OpMax:
		if n == 0 || v > old {
			return v
		}
		return old
	}
	return old + v
}

// passOver: every event, matching or not, moves the learning start.
func (o *outlierRunner) passOver(e *schemas.Event) error { return o.observe(e.Timestamp) }

func (o *outlierRunner) process(e *schemas.Event) error {
	if err := o.observe(e.Timestamp); err != nil {
		return err
	}
	if !o.r.Condition.Match(e) {
		return nil
	}
	key, ok := o.groupKey(e)
	if !ok {
		return nil
	}
	v, ok := o.valueOf(e)
	if !ok {
		return nil
	}
	start := e.Timestamp.Truncate(o.bucket)
	full := o.full(key)
	st, raw, exists, err := loadStateRaw[oOpen](o.en, full)
	if err != nil {
		return err
	}
	i := sort.Search(len(st.Open), func(i int) bool { return st.Open[i].S >= start.UnixMilli() })
	if i == len(st.Open) || st.Open[i].S != start.UnixMilli() {
		if !o.en.wm.IsZero() && !o.en.wm.Before(start.Add(o.bucket)) {
			// Its bucket was judged already: feed the baseline only.
			if exists {
				keepState(o.en, full, raw, st)
			}
			return o.addToHistory(key, start.UnixMilli()/o.bucket.Milliseconds(), v)
		}
		st.Open = append(st.Open, oBucket{})
		copy(st.Open[i+1:], st.Open[i:])
		st.Open[i] = oBucket{S: start.UnixMilli()}
	}
	b := &st.Open[i]
	// Snaps cost a projection (and, for rules with prompts, masking): only
	// the first MaxEvidence events of a bucket, and the maximum, get one,
	// made when it is read or stored; most are dropped with their bucket.
	newTop := b.Top == nil || (o.o.Op == rules.OpMax && v > b.V)
	keep := o.o.Op != rules.OpMax && b.N < o.en.cfg.MaxEvidence
	if keep || newTop {
		sn := o.en.lazySnap(o.r, e) // projected if read or stored
		if newTop {
			b.Top = sn
		}
		if keep {
			if err := o.ring(full).put(st.Seq, sn); err != nil {
				return err
			}
			st.Seq++
		}
	}
	b.V = o.fold(b.V, b.N, v)
	b.N++
	if ms := e.Timestamp.UnixMilli(); ms > b.Last {
		b.Last = ms
	}
	if e.HasPromptTokens || e.HasCompletionTokens {
		b.PTok += e.PromptTokens
		b.CTok += e.CompletionTokens
		b.Cost.add(o.en, e.ModelID, e.PromptTokens, e.CompletionTokens)
	}
	return o.saveOpen(full, st)
}

func (o *outlierRunner) saveOpen(full string, st *oOpen) error {
	var d int64
	if len(st.Open) > 0 {
		d = st.Open[0].S + o.bucket.Milliseconds()
	}
	if d != st.Deadline {
		if err := o.en.setExpiry(full, msTime(st.Deadline), msTime(d)); err != nil {
			return err
		}
		st.Deadline = d
	}
	if len(st.Open) == 0 {
		if err := o.ring(full).clear(st.Seq); err != nil {
			return err
		}
		return o.en.store.Delete(full)
	}
	return saveState(o.en, full, st)
}

func (o *outlierRunner) loadHist(key string) (*oHist, error) {
	h, _, err := o.getHist(o.histKey(key))
	return h, err
}

// saveHist drops what is older than any future bucket's baseline (the
// newest bucket's index − nb) and keeps an expiry entry at or before the
// start of the first bucket whose baseline is empty; wm at or past that
// start deletes the record.
//
// Each bucket judged moves that start a bucket later. The entry is not moved
// with it (a Delete and a Put of the expiry index per bucket): it stays
// where it is, and when the sweep reaches it, expire finds the record not
// yet due and sets the entry at the start as it then is. So an entry moves
// about once per baseline instead of once per bucket; h.Deadline is where
// the entry is.
func (o *outlierRunner) saveHist(key string, h *oHist, wm time.Time) error {
	full := o.histKey(key)
	if n := len(h.Idx); n > 0 {
		cut := h.Idx[n-1] - o.nb
		k := 0
		for k < n && h.Idx[k] <= cut {
			k++
		}
		h.Idx, h.V = h.Idx[k:], h.V[k:]
	}
	var d int64
	if n := len(h.Idx); n > 0 {
		d = (h.Idx[n-1] + o.nb + 1) * o.bucket.Milliseconds()
	}
	if d != 0 && !wm.Before(msTime(d)) {
		d = 0
	}
	if d != h.Deadline && (d == 0 || h.Deadline == 0 || d < h.Deadline) {
		if err := o.en.setExpiry(full, msTime(h.Deadline), msTime(d)); err != nil {
			return err
		}
		h.Deadline = d
	}
	if d == 0 {
		return o.en.store.Delete(full)
	}
	return o.en.pending.save(full, h) // encoded at the next sync
}

// merge folds value v of bucket idx into h.
func (o *outlierRunner) merge(h *oHist, idx int64, v float64) {
	i := sort.Search(len(h.Idx), func(i int) bool { return h.Idx[i] >= idx })
	if i < len(h.Idx) && h.Idx[i] == idx {
		h.V[i] = o.fold(h.V[i], 1, v)
		return
	}
	h.Idx = append(h.Idx, 0)
	h.V = append(h.V, 0)
	copy(h.Idx[i+1:], h.Idx[i:])
	copy(h.V[i+1:], h.V[i:])
	h.Idx[i], h.V[i] = idx, v
}

func (o *outlierRunner) addToHistory(key string, idx int64, v float64) error {
	// Every bucket still to be judged ends after the watermark, so its
	// baseline begins at (end - bucket) - nb·bucket > wm - (nb+1)·bucket: a
	// bucket that starts by then is in none, and merging it would change
	// nothing but a history entry that is never read.
	if (idx+o.nb+1)*o.bucket.Milliseconds() <= o.en.wm.UnixMilli() {
		return nil
	}
	h, err := o.loadHist(key)
	if err != nil {
		return err
	}
	o.merge(h, idx, v)
	return o.saveHist(key, h, o.en.wm)
}

// baseline returns the mean, population stddev and the number of buckets of
// the baseline of bucket idx, and how many of them were non-empty.
func (o *outlierRunner) baseline(h *oHist, idx int64) (mean, std float64, n, nonEmpty int) {
	// The buckets in [idx-nb, idx): a run of h, which is ascending.
	lo := sort.Search(len(h.Idx), func(i int) bool { return h.Idx[i] >= idx-o.nb })
	hi := lo + sort.Search(len(h.Idx)-lo, func(i int) bool { return h.Idx[lo+i] >= idx })
	vals := h.V[lo:hi]
	nonEmpty = len(vals)
	n = nonEmpty
	if o.o.Op != rules.OpMax {
		n = int(o.nb) // empty buckets are zeros
	}
	if n == 0 {
		return 0, 0, 0, 0
	}
	var sum float64
	for _, v := range vals {
		sum += v
	}
	mean = sum / float64(n)
	var ss float64
	for _, v := range vals {
		ss += (v - mean) * (v - mean)
	}
	ss += float64(n-len(vals)) * mean * mean
	return mean, math.Sqrt(ss / float64(n)), n, nonEmpty
}

func (o *outlierRunner) expire(full string, wm time.Time) error {
	if done, err := o.expireStart(full, wm); done {
		return err
	}
	rest := full[len(o.prefix):]
	if key, ok := strings.CutSuffix(rest, histSuffix); ok {
		h, ok, err := o.getHist(full)
		if err != nil || !ok {
			return err
		}
		h.Deadline = 0
		return o.saveHist(key, h, wm)
	}
	if strings.Contains(rest, metaSep) {
		return o.en.store.Delete(full)
	}
	st, ok, err := loadState[oOpen](o.en, full)
	if err != nil || !ok {
		return err
	}
	st.Deadline = 0
	if err := o.loadStart(); err != nil {
		return err
	}
	var h *oHist
	for len(st.Open) > 0 && !wm.Before(msTime(st.Open[0].S+o.bucket.Milliseconds())) {
		b := st.Open[0]
		if h == nil {
			var err error
			if h, err = o.loadHist(rest); err != nil {
				return err
			}
		}
		if err := o.judge(rest, st, &b, h); err != nil {
			return err
		}
		o.merge(h, b.S/o.bucket.Milliseconds(), b.V)
		st.Open = st.Open[1:]
	}
	if h != nil {
		if err := o.saveHist(rest, h, wm); err != nil {
			return err
		}
	}
	return o.saveOpen(full, st)
}

// judge raises the alert of closed bucket b if it is an outlier.
func (o *outlierRunner) judge(key string, st *oOpen, b *oBucket, h *oHist) error {
	start := msTime(b.S)
	if !o.learned(start, o.o.Baseline.D()) {
		return nil
	}
	idx := b.S / o.bucket.Milliseconds()
	mean, std, n, nonEmpty := o.baseline(h, idx)
	limit := mean + o.o.K*std
	if !(b.V > limit && b.V >= o.o.Floor) {
		return nil
	}
	end := start.Add(o.bucket)
	chain, err := o.ring(o.full(key)).list(st.Seq, start, end)
	if err != nil {
		return err
	}
	if b.Top != nil {
		b.Top.resolve()
		chain = insertSnap(chain, *b.Top, o.en.cfg.MaxEvidence+1)
	}
	values := strings.Split(key, groupSep)
	a := o.en.buildAlert(o.r, alertSpec{groupFields: o.groupFields(), groupValues: values, chain: chain,
		idParts: []string{key, strconv.FormatInt(b.S, 10)}})
	a.Time = msTime(b.Last)
	a.Window = schemas.Window{Start: start, End: end}
	a.EvidenceCount = b.N
	m := a.Metrics
	round := func(x float64) float64 { return math.Round(x*1000) / 1000 }
	m["count"] = b.N
	m["value"] = round(b.V)
	m["value_expr"] = o.o.Value
	m["baseline_mean"] = round(mean)
	m["baseline_stddev"] = round(std)
	m["baseline_buckets"] = n
	m["baseline_nonempty_buckets"] = nonEmpty
	m["k"] = o.o.K
	m["floor"] = o.o.Floor
	m["bucket_seconds"] = o.bucket.Seconds()
	m["learning_since"] = o.start.Format(time.RFC3339Nano)
	for _, k := range []string{"prompt_tokens", "completion_tokens", "estimated_cost_usd", "cost_unknown_models"} {
		delete(m, k)
	}
	var cost string
	if b.PTok > 0 || b.CTok > 0 {
		m["prompt_tokens"], m["completion_tokens"] = b.PTok, b.CTok
		b.Cost.put(m)
		if b.Cost.Priced {
			cost = fmt.Sprintf("; estimated cost of the %s: $%.2f", durationText(o.bucket), roundCost(b.Cost.USD))
		}
		if len(b.Cost.Unknown) > 0 {
			cost += fmt.Sprintf("; no price for %s", strings.Join(b.Cost.Unknown, ", "))
		}
	}
	a.Summary = fmt.Sprintf("%s: %s: %s = %s in the %s from %s, above its baseline (mean %s, stddev %s over %d buckets; limit %s, floor %s)%s",
		o.r.Name, strings.Join(values, " | "), o.o.Value, num(b.V), durationText(o.bucket), start.UTC().Format("2006-01-02T15:04Z"),
		num(mean), num(std), n, num(limit), num(o.o.Floor), cost)
	o.en.send(a) // outlier rules take no suppress: one judgement per bucket
	return nil
}

func num(x float64) string { return strconv.FormatFloat(math.Round(x*100)/100, 'f', -1, 64) }
