package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/bedrockwatch/bedrockwatch/schemas/alertcheck"
)

const sharedTestdata = "../../../shared/testdata"

func sharedFiles(t *testing.T) []string {
	t.Helper()
	if _, err := os.Stat(sharedTestdata); err != nil {
		t.Skip("../shared/testdata is not beside the checkout")
	}
	var files []string
	filepath.WalkDir(sharedTestdata, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	return files
}

type alertLine struct {
	ID       string `json:"id"`
	RuleID   string `json:"ruleid"`
	Subject  string `json:"subject"`
	Severity string `json:"severity"`
	Data     struct {
		SuppressionOf string `json:"suppression_of"`
		Evidence      []struct {
			EventID string `json:"event_id"`
			File    string `json:"file"`
		} `json:"evidence"`
		Actor struct {
			PrincipalARN string `json:"principal_arn"`
			AccessKeyID  string `json:"access_key_id"`
		} `json:"actor"`
	} `json:"data"`
}

func replay(t *testing.T, args ...string) (alerts []alertLine, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"replay", "--progress=false"}, args...), &out, &errb)
	if code != 0 {
		t.Fatalf("replay exited %d\nstderr:\n%s", code, errb.String())
	}
	sc := bufio.NewScanner(bytes.NewReader(out.Bytes()))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if err := alertcheck.Validate(line); err != nil {
			t.Fatalf("alert does not validate: %v\n%s", err, line)
		}
		var a alertLine
		if err := json.Unmarshal(line, &a); err != nil {
			t.Fatal(err)
		}
		alerts = append(alerts, a)
	}
	return alerts, out.String(), errb.String()
}

var summaryLine = regexp.MustCompile(`(?m)^  (\w+) +(\d+): (\d+) event\(s\), (\d+) filtered, (\d+) skipped, (\d+) malformed$`)

// TestReplayAllSharedTestdata: every externally written sample replays with
// exit 0, no panic, and a summary that accounts for every record.
func TestReplayAllSharedTestdata(t *testing.T) {
	files := sharedFiles(t)
	alerts, _, stderr := replay(t, files...)
	if !strings.Contains(stderr, "replay summary: "+strconv.Itoa(len(files))+" file(s)") {
		t.Fatalf("summary does not count %d files:\n%s", len(files), stderr)
	}
	m := summaryLine.FindAllStringSubmatch(stderr, -1)
	if len(m) == 0 {
		t.Fatalf("no per-source lines in summary:\n%s", stderr)
	}
	for _, s := range m {
		n := func(i int) int { v, _ := strconv.Atoi(s[i]); return v }
		if n(2) != n(3)+n(4)+n(5)+n(6) {
			t.Errorf("%s: total %d != events+filtered+skipped+malformed (%s)", s[1], n(2), s[0])
		}
	}
	if len(alerts) == 0 {
		t.Fatal("no alerts from the whole shared corpus")
	}
}

func TestReplayIsDeterministic(t *testing.T) {
	files := sharedFiles(t)
	_, a, _ := replay(t, files...)
	_, b, _ := replay(t, files...)
	if a != b {
		t.Fatal("two replays of the same input gave different stdout")
	}
	if a == "" {
		t.Fatal("no output")
	}
}

func TestStratusBedrockDetonation(t *testing.T) {
	sharedFiles(t)
	alerts, _, _ := replay(t, sharedTestdata+"/stratus-red-team/docs/detonation-logs/aws.impact.bedrock-invoke-model.json")
	byRule := map[string]int{}
	for _, a := range alerts {
		byRule[a.RuleID]++
	}
	if byRule["bedrock-model-access-enabled"] == 0 {
		t.Fatalf("no bedrock-model-access-enabled alert: %v", byRule)
	}
	if byRule["bedrock-enumeration-then-invocation-long-term-key"] != 0 {
		t.Fatalf("the detonation uses temporary ASIA keys, yet the long-term-key sequence fired: %v", byRule)
	}
}

func TestSplunkPromptInjectionSet(t *testing.T) {
	sharedFiles(t)
	file := sharedTestdata + "/splunk-attack_data/datasets/aws_bedrock_claude/aws_bedrock_claude_possible_prompt_injection.ndjson"
	alerts, _, _ := replay(t, file)
	raised := map[string]bool{} // request ids cited by the rule's alerts, follow-ups included
	users := map[string]bool{}
	for _, a := range alerts {
		if a.RuleID != "bedrock-prompt-injection-keywords" {
			continue
		}
		users[a.Data.Actor.PrincipalARN] = true
		for _, e := range a.Data.Evidence {
			raised[e.EventID] = true
		}
	}
	if len(raised) < 12 || len(users) != 6 {
		t.Fatalf("prompt injection raised for %d of 15 prompts and %d of 6 users", len(raised), len(users))
	}
}

// TestReplayReportIsInFileOrder: the "more malformed record(s) not shown"
// lines come in file name order, so that the same input gives the same
// standard error too (they came in map order).
func TestReplayReportIsInFileOrder(t *testing.T) {
	dir := t.TempDir()
	names := []string{"m.jsonl", "a.jsonl", "z.jsonl", "c.jsonl", "x.jsonl"}
	var paths []string
	for _, n := range names {
		p := filepath.Join(dir, n)
		os.WriteFile(p, []byte("bad 1\nbad 2\nbad 3\n"), 0o644)
		paths = append(paths, p)
	}
	_, _, stderr := replay(t, append([]string{"--report-limit", "1"}, paths...)...)
	var got []string
	for _, line := range strings.Split(stderr, "\n") {
		if file, ok := strings.CutSuffix(line, ": 2 more malformed record(s) not shown (--report-limit)"); ok {
			got = append(got, filepath.Base(file))
		}
	}
	if want := []string{"a.jsonl", "c.jsonl", "m.jsonl", "x.jsonl", "z.jsonl"}; !slices.Equal(got, want) {
		t.Fatalf("report lines for %v, want %v\n%s", got, want, stderr)
	}
}

func TestReplayReportsBadInputWithFileAndLine(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "mixed.jsonl")
	os.WriteFile(p, []byte("{\"eventVersion\":\"1.09\",\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"GetObject\",\"eventTime\":\"2026-01-01T00:00:00Z\"}\nnot json at all\n{\"hello\":\"world\"}\n"), 0o644)
	_, _, stderr := replay(t, p)
	for _, want := range []string{p + ":2: malformed input: invalid_json", p + ":3: malformed input: unknown_shape", "filtered"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func TestReplayUnreadableFileExitsOne(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"replay", "--progress=false", "/nonexistent/file.json"}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "no such file") {
		t.Fatalf("exit %d, stderr %s", code, errb.String())
	}
}

func TestDemoScenario(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/demo/*")
	alerts, _, _ := replay(t, files...)
	byRule := map[string][]alertLine{}
	for _, a := range alerts {
		byRule[a.RuleID] = append(byRule[a.RuleID], a)
	}
	for _, id := range []string{
		"bedrock-enumeration-then-invocation-long-term-key", "bedrock-invocation-logging-modified",
		"bedrock-guardrail-deleted-or-weakened", "bedrock-invocation-access-denied",
		"bedrock-model-access-enabled", "bedrock-prompt-injection-keywords", "bedrock-cli-destructive-command",
	} {
		if len(byRule[id]) == 0 {
			t.Errorf("demo raised no %s", id)
		}
	}
	seq := byRule["bedrock-enumeration-then-invocation-long-term-key"]
	if len(seq) != 1 || seq[0].Subject != "AKIA5QWEXAMPLELLMJAK" {
		t.Fatalf("long-term-key sequence alerts: %+v", seq)
	}
}

// TestReplayTextOutput: --output text prints each alert of the CloudEvents
// output as a readable line pair, in the same order; a bad format is a usage
// error.
func TestReplayTextOutput(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/demo/*")
	alerts, _, _ := replay(t, files...)
	var out, errb bytes.Buffer
	if code := run(context.Background(), append([]string{"replay", "--progress=false", "--output", "text"}, files...), &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2*len(alerts) {
		t.Fatalf("%d text lines for %d alerts", len(lines), len(alerts))
	}
	for i, a := range alerts {
		head := strings.Fields(lines[2*i])
		if len(head) != 4 || head[2] != a.RuleID || head[3] != a.Subject || head[1] != strings.ToUpper(a.Severity) {
			t.Errorf("line %d %q does not show alert %s/%s/%s", 2*i, lines[2*i], a.Severity, a.RuleID, a.Subject)
		}
		if !strings.HasPrefix(lines[2*i+1], "    ") {
			t.Errorf("summary line %q not indented", lines[2*i+1])
		}
	}
	out.Reset()
	errb.Reset()
	if code := run(context.Background(), []string{"replay", "--output", "yaml", files[0]}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "cloudevents or text") {
		t.Fatalf("bad --output: exit %d, stderr %s", code, errb.String())
	}
}
