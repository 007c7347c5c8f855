package service

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/bedrockwatch/bedrockwatch/schemas"
)

// InputTopicFor names the input topic of t for a file of samples by its
// name: invocation logs (*invocation*, *prompt*, *splunk*) and endpoint
// events (*endpoint*, *process*) by the usual words, else CloudTrail. `dev
// --demo` and the tests produce files with it.
func InputTopicFor(t Topics, file string) string {
	b := strings.ToLower(filepath.Base(file))
	switch {
	case strings.Contains(b, "invocation") || strings.Contains(b, "prompt") || strings.Contains(b, "splunk"):
		return t.Invocations
	case strings.Contains(b, "endpoint") || strings.Contains(b, "process"):
		return t.Endpoint
	}
	return t.CloudTrail
}

// RecordKey returns the record key a producer would give msg: the access
// key id of its first event, else the principal, else the host
// (Event.Subject); nil when it holds no event.
func RecordKey(dec *schemas.Decoder, msg []byte) []byte {
	var key []byte
	dec.Decode(msg, schemas.Origin{}, func(r schemas.Record) {
		if key == nil && r.Event != nil {
			key = []byte(r.Event.Subject())
		}
	})
	return key
}

// WaitCaughtUp waits until CaughtUp holds twice in a row (50 ms apart), or
// timeout, or ctx ends.
func WaitCaughtUp(ctx context.Context, adm *kadm.Client, cfg Config, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	stable := 0
	for time.Now().Before(deadline) {
		if ok, _ := CaughtUp(ctx, adm, cfg); ok {
			if stable++; stable == 2 {
				return nil
			}
		} else {
			stable = 0
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("group %s did not consume its input within %s", cfg.Group, timeout)
}
