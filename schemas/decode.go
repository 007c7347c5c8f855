package schemas

import (
	"errors"
	"fmt"
)

// Source names the input strand a record belongs to.
type Source uint8

// The input strands. SourceUnknown is a record whose shape was not recognised.
const (
	SourceUnknown Source = iota
	SourceCloudTrail
	SourceInvocation
	SourceEndpoint
)

func (s Source) String() string {
	switch s {
	case SourceCloudTrail:
		return "cloudtrail"
	case SourceInvocation:
		return "invocation"
	case SourceEndpoint:
		return "endpoint"
	}
	return "unknown"
}

// Status says what became of one record found in a message.
type Status uint8

const (
	// StatusEvent: Record.Event holds the normalised event.
	StatusEvent Status = iota
	// StatusFiltered: a well-formed record no rule reads: a CloudTrail
	// record of a service outside Config.CloudTrailProviders, or an endpoint
	// event that is not a process start with a command line. Counted, not
	// dead-lettered.
	StatusFiltered
	// StatusSkipped: recognised but not an event (a CloudTrail digest file, a
	// CloudWatch Logs CONTROL_MESSAGE). Counted, not dead-lettered.
	StatusSkipped
	// StatusMalformed: Record.Err is a *MalformedError; the record goes to the
	// dead-letter topic (service) or is reported with file and line (replay).
	StatusMalformed
)

func (s Status) String() string {
	switch s {
	case StatusEvent:
		return "event"
	case StatusFiltered:
		return "filtered"
	case StatusSkipped:
		return "skipped"
	}
	return "malformed"
}

// Record is one outcome of Decode.
type Record struct {
	Status Status
	Source Source
	Event  *Event // set when Status == StatusEvent
	Err    error  // a *MalformedError when Status == StatusMalformed
}

// Reasons a record is malformed; they are the values of the DLQ reason header
// and the keys of the replay summary.
const (
	ReasonInvalidJSON  = "invalid_json"  // not JSON at all, or truncated
	ReasonUnknownShape = "unknown_shape" // JSON, but none of the known inputs
	ReasonOversized    = "oversized"     // larger than Config.MaxRecordBytes
	ReasonBadGzip      = "bad_gzip"      // gzip header but a corrupt stream
	ReasonBadField     = "bad_field"     // a known shape with a field of an impossible type (e.g. eventName a number)
)

// MalformedError is the one class of error that sends a record to the
// dead-letter topic. Detail never contains prompt text or credentials.
type MalformedError struct {
	Reason string // one of the Reason* constants
	Detail string // short, safe to log
}

func (e *MalformedError) Error() string {
	if e.Detail == "" {
		return "malformed input: " + e.Reason
	}
	return fmt.Sprintf("malformed input: %s: %s", e.Reason, e.Detail)
}

// IsMalformed reports whether err (or an error it wraps) is a MalformedError.
func IsMalformed(err error) bool {
	var m *MalformedError
	return errors.As(err, &m)
}

// Config configures a Decoder.
type Config struct {
	// MaxRecordBytes bounds one message, and one record inside it after
	// decompression. Larger ones are malformed (ReasonOversized), never
	// buffered further. Default 1 MiB.
	MaxRecordBytes int `yaml:"max_record_bytes"`
	// CloudTrailProviders lists the eventSource values whose records become
	// events; other CloudTrail records are StatusFiltered, rejected by a byte
	// scan before they are parsed. Empty means every provider. Default
	// [bedrock.amazonaws.com].
	CloudTrailProviders []string `yaml:"cloudtrail_providers"`
	// DropRaw leaves Event.Raw nil instead of keeping a private copy of each
	// record, an allocation and a copy of every record's bytes (a tenth of
	// decoding an invocation log). Fields for which PathReadsRaw is true then read as
	// null; every other field, and event ids (a record without an id of
	// its own is still identified by the hash of its bytes), are the same.
	// For a caller that knows none of its rules reads such a field (replay);
	// the service forwards Raw and keeps it. Not a YAML setting. Default
	// false.
	DropRaw bool `yaml:"-"`
}

// DefaultConfig returns the defaults described on Config.
func DefaultConfig() Config {
	return Config{MaxRecordBytes: 1 << 20, CloudTrailProviders: []string{BedrockProvider}}
}

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	if c.MaxRecordBytes <= 0 {
		errs = append(errs, fmt.Errorf("max_record_bytes must be positive, got %d", c.MaxRecordBytes))
	}
	for i, p := range c.CloudTrailProviders {
		if p == "" {
			errs = append(errs, fmt.Errorf("cloudtrail_providers[%d] is empty", i))
		}
	}
	return errors.Join(errs...)
}
