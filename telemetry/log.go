package telemetry

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Redacted replaces the value of a sensitive log attribute.
const Redacted = "[redacted]"

// sensitiveKeys are attribute names whose values are prompt or completion
// text (compared case-insensitively, on the last dot-separated segment).
var sensitiveKeys = []string{"prompt", "completion", "system_prompt"}

// NewLogger returns a structured logger writing to w.
//
// level is debug, info, warn (or warning) or error; format is json (also
// the default when empty) or text. Whatever the level, an attribute named
// prompt, completion or system_prompt — or ending in .prompt and so on, or
// inside a group of such a name — is printed as "[redacted]": prompt text
// must never reach logs (STYLE habit 6). The check is on attribute names;
// do not log structs or maps that hold prompts under another name, nor put
// prompt text in the message.
func NewLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	switch strings.ToLower(strings.TrimSpace(level)) {
	case "debug":
		lv = slog.LevelDebug
	case "info", "":
		lv = slog.LevelInfo
	case "warn", "warning":
		lv = slog.LevelWarn
	case "error":
		lv = slog.LevelError
	default:
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv, ReplaceAttr: redact}
	switch strings.ToLower(strings.TrimSpace(format)) {
	case "json", "":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: want json or text", format)
}

// redact is the loggers' ReplaceAttr: it is called for every non-group
// attribute with the names of the groups it is in.
func redact(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && (a.Key == slog.MessageKey || a.Key == slog.TimeKey || a.Key == slog.LevelKey || a.Key == slog.SourceKey) {
		return a
	}
	if sensitive(a.Key) {
		return slog.String(a.Key, Redacted)
	}
	for _, g := range groups {
		if sensitive(g) {
			return slog.String(a.Key, Redacted)
		}
	}
	return a
}

func sensitive(key string) bool {
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		key = key[i+1:]
	}
	for _, s := range sensitiveKeys {
		if strings.EqualFold(key, s) {
			return true
		}
	}
	return false
}
