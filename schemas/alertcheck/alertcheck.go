// Package alertcheck validates alert CloudEvents: the envelope attributes of
// SPEC §6 and the data against the alert JSON Schema. Tests use it to check
// every alert they see; downstream consumers can use it too.
package alertcheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/bedrockwatch/bedrockwatch/schemas"
)

var (
	once     sync.Once
	compiled *jsonschema.Schema
	compErr  error
)

func schema() (*jsonschema.Schema, error) {
	once.Do(func() {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemas.AlertJSONSchema))
		if err != nil {
			compErr = err
			return
		}
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		if err := c.AddResource(schemas.AlertDataSchema, doc); err != nil {
			compErr = err
			return
		}
		compiled, compErr = c.Compile(schemas.AlertDataSchema)
	})
	return compiled, compErr
}

// ValidateData checks alert data (the CloudEvent's data member) against the
// schema.
func ValidateData(data []byte) error {
	s, err := schema()
	if err != nil {
		return fmt.Errorf("alert schema: %w", err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("alert data is not JSON: %w", err)
	}
	return s.Validate(v)
}

// Validate checks one structured-mode CloudEvent (JSON) as bedrockwatch
// writes it: spec version, type, source, id, time, subject, data schema,
// extensions, and the data against the schema.
func Validate(event []byte) error {
	var ce struct {
		SpecVersion     string          `json:"specversion"`
		ID              string          `json:"id"`
		Source          string          `json:"source"`
		Type            string          `json:"type"`
		Subject         string          `json:"subject"`
		Time            string          `json:"time"`
		DataContentType string          `json:"datacontenttype"`
		DataSchema      string          `json:"dataschema"`
		RuleID          string          `json:"ruleid"`
		Severity        string          `json:"severity"`
		PartitionKey    *string         `json:"partitionkey"`
		Data            json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(event, &ce); err != nil {
		return fmt.Errorf("not a JSON CloudEvent: %w", err)
	}
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(ce.SpecVersion == "1.0", "specversion %q, want 1.0", ce.SpecVersion)
	check(ce.Type == schemas.AlertType, "type %q", ce.Type)
	check(strings.HasPrefix(ce.Source, schemas.AlertSourcePrefix) && ce.Source == schemas.AlertSourcePrefix+ce.RuleID, "source %q does not match ruleid %q", ce.Source, ce.RuleID)
	check(len(ce.ID) == 32, "id %q is not a 32-digit hash", ce.ID)
	check(ce.Time != "", "time is missing")
	check(ce.DataContentType == "application/json", "datacontenttype %q", ce.DataContentType)
	check(ce.DataSchema == schemas.AlertDataSchema, "dataschema %q", ce.DataSchema)
	check(ce.Severity != "", "severity extension missing")
	check(ce.PartitionKey != nil && *ce.PartitionKey == ce.Subject, "partitionkey must equal subject")
	if len(ce.Data) == 0 {
		errs = append(errs, errors.New("data is missing"))
	} else if err := ValidateData(ce.Data); err != nil {
		errs = append(errs, err)
	} else {
		var d struct {
			Rule struct {
				ID       string `json:"id"`
				Severity string `json:"severity"`
			} `json:"rule"`
		}
		_ = json.Unmarshal(ce.Data, &d)
		check(d.Rule.ID == ce.RuleID, "data.rule.id %q != ruleid %q", d.Rule.ID, ce.RuleID)
		check(d.Rule.Severity == ce.Severity, "data.rule.severity %q != severity %q", d.Rule.Severity, ce.Severity)
	}
	return errors.Join(errs...)
}
