package state_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bedrockwatch/bedrockwatch/processor"
	"github.com/bedrockwatch/bedrockwatch/processor/rules"
	"github.com/bedrockwatch/bedrockwatch/schemas"
	"github.com/bedrockwatch/bedrockwatch/state"
)

const sharedTestdata = "../../shared/testdata"

// cloudTrailRecords returns the records of a CloudTrail JSON file
// ({"Records":[…]} or an array), compacted.
func cloudTrailRecords(b *testing.B, path string) [][]byte {
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

// otherCloudTrail is real CloudTrail of other services (invictus-ir).
func otherCloudTrail(b *testing.B) [][]byte {
	files, _ := filepath.Glob(sharedTestdata + "/invictus-ir-aws_dataset/CloudTrail/*.json")
	if len(files) == 0 {
		b.Skip("invictus-ir samples not available")
	}
	var out [][]byte
	for _, f := range files {
		out = append(out, cloudTrailRecords(b, f)...)
	}
	return out
}

// interleave writes JSON lines of plain records with one Bedrock record
// before every 19th (5% Bedrock), until size bytes; with no plain records,
// Bedrock records only.
func interleave(plain [][]byte, bedrock func(i int) []byte, size int) []byte {
	var buf bytes.Buffer
	bi := 0
	for buf.Len() < size {
		if len(plain) == 0 {
			buf.Write(bedrock(bi))
			buf.WriteByte('\n')
			bi++
		}
		for i, r := range plain {
			if i%19 == 0 {
				buf.Write(bedrock(bi))
				buf.WriteByte('\n')
				bi++
			}
			buf.Write(r)
			buf.WriteByte('\n')
		}
	}
	return buf.Bytes()
}

// mixedCloudTrail: real CloudTrail where 5% of the records are the Stratus
// Red Team Bedrock detonation's (temporary keys: little state).
func mixedCloudTrail(b *testing.B) []byte {
	bedrock := cloudTrailRecords(b, sharedTestdata+"/stratus-red-team/docs/detonation-logs/aws.impact.bedrock-invoke-model.json")
	return interleave(otherCloudTrail(b), func(i int) []byte { return bedrock[i%len(bedrock)] }, 10<<20)
}

// llmjacking is a Bedrock call by long-term keys, a new key every other
// record: it lists the models, then (for half the keys) invokes one a minute
// later. Every key leaves sequence state; half of them alert.
func llmjacking(i int) []byte {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	key, action, at := i/2, "ListFoundationModels", t0.Add(time.Duration(i)*100*time.Millisecond)
	if i%2 == 1 {
		action = "InvokeModel"
		if key%2 == 1 {
			key += 1 << 30 // a key that never listed
		}
		at = at.Add(time.Minute)
	}
	return []byte(fmt.Sprintf(`{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::210987654321:user/u%[1]d","accountId":"210987654321","accessKeyId":"AKIA%016[1]d","userName":"u%[1]d"},"eventTime":"%[2]s","eventSource":"bedrock.amazonaws.com","eventName":"%[3]s","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.23","userAgent":"Boto3/1.34.2","requestParameters":{"modelId":"anthropic.claude-3-opus-20240229-v1:0"},"responseElements":null,"requestID":"r-%[4]d","eventID":"e-%[4]d","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"210987654321","eventCategory":"Management"}`,
		key, at.Format(time.RFC3339Nano), action, i))
}

// llmjackingCloudTrail: real CloudTrail with 5% LLMjacking calls.
func llmjackingCloudTrail(b *testing.B) []byte {
	return interleave(otherCloudTrail(b), llmjacking, 10<<20)
}

// llmjackingOnly: 4 MiB of LLMjacking calls only, every record stateful.
func llmjackingOnly(*testing.B) []byte { return interleave(nil, llmjacking, 4<<20) }

// BenchmarkReplay: replay end to end (split, decode, all built-in rules,
// Finish, and applying the last changes) on the in-memory map and on Badger
// on disk, over 10 MiB of CloudTrail: real records of other services with 5%
// Bedrock records (Stratus Red Team's, or LLMjacking calls that each leave
// sequence state), and LLMjacking calls only.
func BenchmarkReplay(b *testing.B) {
	corpora := []struct {
		name  string
		build func(*testing.B) []byte
	}{
		{"mixed-cloudtrail", mixedCloudTrail},
		{"llmjacking-5pct", llmjackingCloudTrail},
		{"llmjacking-only", llmjackingOnly},
	}
	rs, err := rules.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range corpora {
		b.Run(c.name, func(b *testing.B) {
			input := c.build(b)
			for _, backend := range []string{"memory", "badger-disk"} {
				b.Run(backend, func(b *testing.B) {
					b.SetBytes(int64(len(input)))
					b.ReportAllocs()
					var records, events int64
					for i := 0; i < b.N; i++ {
						b.StopTimer()
						var store processor.Store = state.NewMemory()
						var db *state.Badger
						if backend == "badger-disk" {
							db = openBadger(b, b.TempDir(), state.DefaultOptions())
							store = db.Partition(0)
						}
						b.StartTimer()
						rp, err := processor.NewReplayer(rs, store, processor.DefaultReplayConfig(), func(*schemas.Alert) {})
						if err != nil {
							b.Fatal(err)
						}
						if err := rp.ReadFile("bench", bytes.NewReader(input)); err != nil {
							b.Fatal(err)
						}
						if err := rp.Finish(true); err != nil {
							b.Fatal(err)
						}
						if db != nil {
							if err := db.Partition(0).Flush(); err != nil {
								b.Fatal(err)
							}
							b.StopTimer()
							if err := db.Close(); err != nil {
								b.Fatal(err)
							}
							b.StartTimer()
						}
						_, n := rp.Progress()
						records += n
						events += rp.Stats().Total(schemas.StatusEvent)
					}
					b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
					b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
				})
			}
		})
	}
}
