package processor

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/bedrockwatch/bedrockwatch/processor/rules"
	"github.com/bedrockwatch/bedrockwatch/schemas"
	"github.com/bedrockwatch/bedrockwatch/state"
)

const shared = "../../shared/testdata"

// records returns the CloudTrail records of a JSON file ({"Records":[…]} or
// an array), re-encoded compactly, one per element.
func records(b *testing.B, path string) [][]byte {
	b.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		b.Skipf("sample not available: %v", err)
	}
	var doc struct {
		Records []json.RawMessage `json:"Records"`
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &doc) == nil && doc.Records != nil {
		list = doc.Records
	} else if err := json.Unmarshal(raw, &list); err != nil {
		b.Fatal(err)
	}
	var out [][]byte
	for _, r := range list {
		var c bytes.Buffer
		json.Compact(&c, r)
		out = append(out, c.Bytes())
	}
	return out
}

// mixedCloudTrail builds JSON lines of real CloudTrail where 5% of the
// records are Bedrock calls.
func mixedCloudTrail(b *testing.B) []byte {
	other, _ := filepath.Glob(shared + "/invictus-ir-aws_dataset/CloudTrail/*.json")
	if len(other) == 0 {
		b.Skip("invictus-ir samples not available")
	}
	var plain [][]byte
	for _, f := range other {
		plain = append(plain, records(b, f)...)
	}
	bedrock := records(b, shared+"/stratus-red-team/docs/detonation-logs/aws.impact.bedrock-invoke-model.json")
	var buf bytes.Buffer
	bi := 0
	for i, r := range plain {
		if i%19 == 0 { // 1 in 20 lines is Bedrock
			buf.Write(bedrock[bi%len(bedrock)])
			buf.WriteByte('\n')
			bi++
		}
		buf.Write(r)
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

func invocationLogs(b *testing.B) []byte {
	files, _ := filepath.Glob(shared + "/splunk-attack_data/datasets/aws_bedrock_claude/*.ndjson")
	files = append(files, shared+"/elastic-integrations/packages/aws_bedrock/data_stream/invocation/_dev/test/pipeline/test-aws-bedrock.log")
	var buf bytes.Buffer
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			b.Skipf("sample not available: %v", err)
		}
		buf.Write(bytes.TrimRight(raw, "\n"))
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

func benchReplay(b *testing.B, input []byte) {
	rs, err := rules.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	// As `bedrockwatch replay` runs (GOGC, when set, still wins).
	defer TuneGCForReplay()()
	b.SetBytes(int64(len(input)))
	b.ReportAllocs()
	var recs int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rp, err := NewReplayer(rs, state.NewMemory(), DefaultReplayConfig(), func(*schemas.Alert) {})
		if err != nil {
			b.Fatal(err)
		}
		if err := rp.ReadFile("bench", bytes.NewReader(input)); err != nil {
			b.Fatal(err)
		}
		if err := rp.Finish(true); err != nil {
			b.Fatal(err)
		}
		_, n := rp.Progress()
		recs += n
	}
	b.ReportMetric(float64(recs)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkReplayMixedCloudTrail: replay end to end (split, decode, all
// built-in rules) of real CloudTrail with 5% Bedrock records.
func BenchmarkReplayMixedCloudTrail(b *testing.B) { benchReplay(b, repeat(mixedCloudTrail(b), 10<<20)) }

// BenchmarkReplayInvocationLogs: replay end to end of real model-invocation
// logs (every record is decoded and evaluated).
func BenchmarkReplayInvocationLogs(b *testing.B) { benchReplay(b, repeat(invocationLogs(b), 10<<20)) }

// repeat concatenates copies of lines until they reach size bytes, so a
// benchmark measures the steady state rather than per-file set-up. Copies
// repeat event ids; alerts are not what is measured.
func repeat(lines []byte, size int) []byte {
	out := make([]byte, 0, size+len(lines))
	for len(out) < size {
		out = append(out, lines...)
	}
	return out
}
