package service

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/bedrockwatch/bedrockwatch/processor"
	"github.com/bedrockwatch/bedrockwatch/processor/rules"
	"github.com/bedrockwatch/bedrockwatch/schemas"
	"github.com/bedrockwatch/bedrockwatch/state"
)

// demoAlerts returns the alerts replay raises on the demo files.
func demoAlerts(b *testing.B) []*schemas.Alert {
	b.Helper()
	rs, err := rules.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	var out []*schemas.Alert
	rp, err := processor.NewReplayer(rs, state.NewMemory(), processor.DefaultReplayConfig(), func(a *schemas.Alert) { out = append(out, a) })
	if err != nil {
		b.Fatal(err)
	}
	files, _ := filepath.Glob("../testdata/demo/*")
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			b.Fatal(err)
		}
		if err := rp.ReadFile(f, fh); err != nil {
			b.Fatal(err)
		}
		fh.Close()
	}
	if err := rp.Finish(true); err != nil {
		b.Fatal(err)
	}
	if len(out) == 0 {
		b.Fatal("no alert on the demo")
	}
	return out
}

// BenchmarkAlertRecord: building the alert record the service produces —
// the CloudEvent (SDK), its JSON and the Kafka record — for the demo's
// alerts in turn.
func BenchmarkAlertRecord(b *testing.B) {
	alerts := demoAlerts(b)
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; b.Loop(); i++ {
		r, err := alertRecord("bedrockwatch-alerts", alerts[i%len(alerts)])
		if err != nil {
			b.Fatal(err)
		}
		n += len(r.Value)
	}
	b.SetBytes(int64(n / max(b.N, 1)))
}
