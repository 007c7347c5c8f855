package schemas

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// Benchmarks of the decode hot path. Run with
//
//	go test -run '^$' -bench . -benchmem ./schemas
//
// The corpora are built from the shared samples (see PROVENANCE.md); each
// benchmark skips when they are absent.

// cloudTrailRecords returns the records of the invictus-ir log files whose
// compact JSON is between minSize and maxSize bytes, one message each.
func cloudTrailRecords(b *testing.B, minSize, maxSize int) [][]byte {
	b.Helper()
	var out [][]byte
	for _, f := range sampleGlob(b, "invictus-ir-aws_dataset/CloudTrail/*.json") {
		for _, r := range recordsOfLogFile(b, f) {
			if len(r) >= minSize && len(r) <= maxSize {
				out = append(out, r)
			}
		}
	}
	return out
}

// recordsOfLogFile returns the compacted records of a {"Records":[…]} file
// or a JSON array file.
func recordsOfLogFile(b testing.TB, path string) [][]byte {
	b.Helper()
	data := sampleDocuments(b, path)[0]
	var list []json.RawMessage
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte("[")) {
		if err := json.Unmarshal(data, &list); err != nil {
			b.Fatal(err)
		}
	} else {
		var file struct{ Records []json.RawMessage }
		if err := json.Unmarshal(data, &file); err != nil {
			b.Fatal(err)
		}
		list = file.Records
	}
	out := make([][]byte, len(list))
	for i, r := range list {
		var buf bytes.Buffer
		if err := json.Compact(&buf, r); err != nil {
			b.Fatal(err)
		}
		out[i] = buf.Bytes()
	}
	return out
}

// bedrockCloudTrailRecords returns the Bedrock records of the stratus
// detonation log and the Elastic Converse sample, compacted.
func bedrockCloudTrailRecords(b *testing.B) [][]byte {
	out := recordsOfLogFile(b, sample(b, "stratus-red-team/docs/detonation-logs/aws.impact.bedrock-invoke-model.json"))
	return append(out, sampleLines(b, "elastic-integrations/packages/aws/data_stream/cloudtrail/_dev/test/pipeline/test-converse-json.log")...)
}

// invocationRecords returns the invocation logs of the Elastic and Splunk
// samples, one message each.
func invocationRecords(b *testing.B) [][]byte {
	out := sampleLines(b, "elastic-integrations/packages/aws_bedrock/data_stream/invocation/_dev/test/pipeline/test-aws-bedrock.log")
	for _, f := range sampleGlob(b, "splunk-attack_data/datasets/aws_bedrock_claude/*.ndjson") {
		out = append(out, sampleLines(b, f[len(sharedTestdata)+1:])...)
	}
	return out
}

// runDecode decodes the corpus round-robin, b.N messages, and reports
// throughput (b.SetBytes with the mean message size), events per second and
// records (events, filtered, skipped, malformed) per second.
func runDecode(b *testing.B, cfg Config, corpus [][]byte) {
	d, err := NewDecoder(cfg)
	if err != nil {
		b.Fatal(err)
	}
	total := 0
	for _, m := range corpus {
		total += len(m)
	}
	b.SetBytes(int64(total / len(corpus)))
	events, records := 0, 0
	yield := func(r Record) {
		records++
		if r.Status == StatusEvent {
			events++
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d.Decode(corpus[i%len(corpus)], Origin{}, yield)
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkDecodeCloudTrailMixed is the CloudTrail topic's common case:
// single-record messages of 1–1.6 KB from many services, 5% of them Bedrock,
// with the default provider filter.
func BenchmarkDecodeCloudTrailMixed(b *testing.B) {
	runDecode(b, DefaultConfig(), mixedCloudTrailCorpus(b))
}

// BenchmarkDecodeCloudTrailMixedDropRaw is BenchmarkDecodeCloudTrailMixed as
// replay decodes when no rule reads a raw field (Config.DropRaw).
func BenchmarkDecodeCloudTrailMixedDropRaw(b *testing.B) {
	cfg := DefaultConfig()
	cfg.DropRaw = true
	runDecode(b, cfg, mixedCloudTrailCorpus(b))
}

// mixedCloudTrailCorpus is the corpus of BenchmarkDecodeCloudTrailMixed.
func mixedCloudTrailCorpus(b *testing.B) [][]byte {
	other := cloudTrailRecords(b, 1000, 1600)
	bedrock := bedrockCloudTrailRecords(b)
	const n = 2000
	corpus := make([][]byte, 0, n)
	for i := 0; i < n; i++ {
		if i%20 == 0 {
			corpus = append(corpus, bedrock[(i/20)%len(bedrock)])
		} else {
			corpus = append(corpus, other[i%len(other)])
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(corpus), func(i, j int) { corpus[i], corpus[j] = corpus[j], corpus[i] })
	return corpus
}

// BenchmarkDecodeFilteredRecord is one non-Bedrock record, filtered: it must
// not allocate.
func BenchmarkDecodeFilteredRecord(b *testing.B) {
	runDecode(b, DefaultConfig(), cloudTrailRecords(b, 1000, 1600)[:1])
}

// BenchmarkDecodeBedrockRecord is one Bedrock CloudTrail record, decoded
// into an Event.
func BenchmarkDecodeBedrockRecord(b *testing.B) {
	runDecode(b, DefaultConfig(), bedrockCloudTrailRecords(b)[:1])
}

// BenchmarkDecodeLogFile is whole CloudTrail log files ({"Records":[…]}) of
// non-Bedrock records, as replay reads them from S3.
func BenchmarkDecodeLogFile(b *testing.B) {
	var corpus [][]byte
	for _, f := range sampleGlob(b, "invictus-ir-aws_dataset/CloudTrail/*.json") {
		corpus = append(corpus, sampleDocuments(b, f)[0])
	}
	runDecode(b, DefaultConfig(), corpus)
}

// BenchmarkDecodeInvocation is every invocation log of the Elastic and
// Splunk samples, fully decoded with text extraction.
func BenchmarkDecodeInvocation(b *testing.B) {
	runDecode(b, DefaultConfig(), invocationRecords(b))
}

// BenchmarkDecodeInvocationDropRaw is BenchmarkDecodeInvocation as replay
// decodes when no rule reads a raw field (Config.DropRaw).
func BenchmarkDecodeInvocationDropRaw(b *testing.B) {
	cfg := DefaultConfig()
	cfg.DropRaw = true
	runDecode(b, cfg, invocationRecords(b))
}

// BenchmarkDecodeInvocationEncodingJSON decodes the same corpus with
// encoding/json into map[string]any and nothing more: the baseline the
// fastjson decoder is measured against.
func BenchmarkDecodeInvocationEncodingJSON(b *testing.B) {
	corpus := invocationRecords(b)
	total := 0
	for _, m := range corpus {
		total += len(m)
	}
	b.SetBytes(int64(total / len(corpus)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var m map[string]any
		if err := json.Unmarshal(corpus[i%len(corpus)], &m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
