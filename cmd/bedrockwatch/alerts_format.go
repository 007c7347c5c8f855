package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
)

// eventLineData is what writeEventLine reads of an alert's data; other
// fields, and data of other shapes, are ignored.
type eventLineData struct {
	Rule struct {
		ID       string `json:"id"`
		Severity string `json:"severity"`
	} `json:"rule"`
	Summary string `json:"summary"`
}

// writeEventLine writes an alert CloudEvent as one line of text: event time
// (UTC), severity, rule, subject and summary, two spaces apart. The rule and
// severity come from the ruleid and severity extensions, else from data.
// Control characters in the alert's fields (which may come from attacker-
// controlled input, such as user agents) are escaped, so a line stays one
// line and cannot drive the terminal.
func writeEventLine(w io.Writer, ev *cloudevents.Event) error {
	var d eventLineData
	if len(ev.Data()) > 0 {
		_ = json.Unmarshal(ev.Data(), &d) // best effort: the envelope is enough for a line
	}
	rule := extString(ev, "ruleid", d.Rule.ID)
	sev := extString(ev, "severity", d.Rule.Severity)
	if rule == "" {
		rule = ev.Source()
	}
	summary := d.Summary
	if summary == "" {
		summary = "(" + ev.Type() + ", no summary)"
	}
	subject := ev.Subject()
	if subject == "" {
		subject = "-"
	}
	_, err := fmt.Fprintf(w, "%s  %-8s  %-50s  %s  %s\n",
		ev.Time().UTC().Format(time.RFC3339), oneLine(strings.ToUpper(sev)), oneLine(rule), oneLine(subject), oneLine(summary))
	return err
}

func extString(ev *cloudevents.Event, name, fallback string) string {
	if v, ok := ev.Extensions()[name]; ok {
		if s, err := types.ToString(v); err == nil && s != "" {
			return s
		}
	}
	return fallback
}

// oneLine escapes control and format characters (newlines, terminal escape
// sequences, bidirectional overrides) as Go string escapes.
func oneLine(s string) string {
	if strings.IndexFunc(s, unsafeRune) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unsafeRune(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func unsafeRune(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }
