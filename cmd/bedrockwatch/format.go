package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/bedrockwatch/bedrockwatch/schemas"
)

// Alert output formats.
const (
	outputCloudEvents = "cloudevents" // one structured-mode CloudEvent, JSON, a line
	outputText        = "text"        // one readable line an alert
)

// alertWriter writes alerts in one of the output formats.
type alertWriter struct {
	w      io.Writer
	format string
}

func newAlertWriter(w io.Writer, format string) (*alertWriter, error) {
	switch format {
	case outputCloudEvents, outputText:
		return &alertWriter{w: w, format: format}, nil
	}
	return nil, usagef("--output %q: want %s or %s", format, outputCloudEvents, outputText)
}

// write writes one alert: its CloudEvent as a JSON line, or a line of text:
// event time, severity, rule, subject and summary.
func (aw *alertWriter) write(a *schemas.Alert) error {
	if aw.format == outputText {
		_, err := fmt.Fprintf(aw.w, "%s  %-8s  %-50s  %s\n    %s\n",
			a.Time.UTC().Format(time.RFC3339), strings.ToUpper(a.Rule.Severity), a.Rule.ID, a.Subject, a.Summary)
		return err
	}
	ev, err := a.CloudEvent()
	if err != nil {
		return err
	}
	line, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	_, err = aw.w.Write(line)
	return err
}
