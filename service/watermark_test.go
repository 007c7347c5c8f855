package service_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bedrockwatch/bedrockwatch/service"
	"github.com/bedrockwatch/bedrockwatch/service/servicetest"
)

// wmRecorder records the watermark delays the service reports.
type wmRecorder struct {
	mu  sync.Mutex
	min float64 // smallest delay reported, seconds; 0 none yet
}

func (w *wmRecorder) SetWatermarkDelay(_ int32, seconds float64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.min == 0 || seconds < w.min {
		w.min = seconds
	}
}

func (w *wmRecorder) smallest() float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.min
}

func (*wmRecorder) Consumed(context.Context, string, string, int64)  {}
func (*wmRecorder) DeadLettered(context.Context, string, int64)      {}
func (*wmRecorder) Late(context.Context, int64)                      {}
func (*wmRecorder) Alert(context.Context, string, string)            {}
func (*wmRecorder) ProcessDuration(context.Context, string, float64) {}
func (*wmRecorder) EventToAlert(context.Context, string, float64)    {}
func (*wmRecorder) SetLag(string, int32, int64)                      {}
func (*wmRecorder) DropPartition(string, int32)                      {}
func (*wmRecorder) DropStatePartition(int32)                         {}
func (*wmRecorder) SetRestore(int32, int64)                          {}
func (*wmRecorder) SetStateSize(int64, int64)                        {}
func (*wmRecorder) Transaction(context.Context, bool)                {}

// TestFilteredTrafficDoesNotHoldWatermark: an input partition that carries
// only CloudTrail records of other services (filtered before they become
// events) keeps receiving records, yet must not hold the replica's
// watermark: it reaches the Bedrock events of the other partition while
// that traffic goes on.
func TestFilteredTrafficDoesNotHoldWatermark(t *testing.T) {
	brokers, prefix, _ := servicetest.Brokers(t, 2)
	cfg := servicetest.Config(t, brokers, prefix, "wm-0", t.TempDir())
	cfg.InputIdle = 200 * time.Millisecond
	servicetest.CreateInputs(t, brokers, cfg, 2)
	wm := &wmRecorder{}
	stopSvc := runServiceWith(t, cfg, service.Options{Metrics: wm})
	defer func() {
		if err := stopSvc(); err != nil {
			t.Error(err)
		}
	}()

	base := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	rec := func(i int, tm time.Time, source, action, key string) []byte {
		return fmt.Appendf(nil, `{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDA000001","arn":"arn:aws:iam::111122223333:user/u1","accountId":"111122223333","accessKeyId":"%s","userName":"u1"},"eventTime":"%s","eventSource":"%s","eventName":"%s","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userAgent":"Boto3/1.34.2","requestParameters":{"modelId":"anthropic.claude-3-sonnet-20240229-v1:0"},"responseElements":null,"requestID":"r-%d","eventID":"wm-%08d","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}`,
			key, tm.Format(time.RFC3339), source, action, i, i)
	}
	cl := servicetest.Client(t, brokers, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	produce := func(p int32, v []byte) {
		t.Helper()
		if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: cfg.Topics.CloudTrail, Partition: p, Value: v}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	// Partition 0: the sequence, then nothing. Partition 1: S3 calls, on
	// and on.
	key := "AKIAWATERMARK0000001"
	produce(0, rec(1, base, "bedrock.amazonaws.com", "ListFoundationModels", key))
	produce(0, rec(2, base.Add(time.Minute), "bedrock.amazonaws.com", "InvokeModel", key))
	stop := make(chan struct{})
	filler := make(chan int, 1)
	go func() {
		n := 0
		defer func() { filler <- n }()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			v := rec(100+i, base.Add(time.Duration(i)*time.Second), "s3.amazonaws.com", "GetObject", "AKIAFILLER0000000001")
			if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: cfg.Topics.CloudTrail, Partition: 1, Value: v}).FirstErr(); err != nil {
				return
			}
			n++
		}
	}()
	// The watermark should reach the sequence's last event less the
	// allowed lateness: a delay behind the wall clock of about
	// time.Since(base); held at zero, it would be two thousand years.
	want := time.Since(base.Add(time.Minute - cfg.Engine.AllowedLateness)).Seconds()
	deadline := time.Now().Add(15 * time.Second)
	for wm.smallest() == 0 || wm.smallest() > want+60 {
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	close(stop)
	n := <-filler
	if got := wm.smallest(); got == 0 || got > want+60 {
		t.Fatalf("watermark delay %.0fs, want about %.0fs: held back by partition 1, which received %d filtered records", got, want, n)
	}
	if n < 20 {
		t.Fatalf("only %d filtered records were produced meanwhile", n)
	}
	t.Logf("watermark reached the Bedrock events while partition 1 received %d filtered records", n)
}
