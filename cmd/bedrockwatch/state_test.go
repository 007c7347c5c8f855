package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bedrockwatch/bedrockwatch/state"
)

// streamFile is one input file of a replay, cut into its records so that a
// test can split the stream inside it.
type streamFile struct {
	path    string
	doc     bool // a CloudTrail log file or JSON array; else JSON lines
	records []json.RawMessage
}

func loadStreamFile(t *testing.T, path string) streamFile {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sf := streamFile{path: path}
	var doc struct {
		Records []json.RawMessage `json:"Records"`
	}
	var list []json.RawMessage
	switch {
	case json.Unmarshal(raw, &doc) == nil && doc.Records != nil:
		sf.doc, sf.records = true, doc.Records
	case json.Unmarshal(raw, &list) == nil:
		sf.doc, sf.records = true, list
	default:
		for _, line := range bytes.Split(raw, []byte("\n")) {
			if len(bytes.TrimSpace(line)) > 0 {
				sf.records = append(sf.records, json.RawMessage(line))
			}
		}
	}
	if len(sf.records) == 0 {
		t.Fatalf("%s: no records", path)
	}
	return sf
}

// write writes records as a file of the same kind as sf.
func (sf streamFile) write(t *testing.T, path string, records []json.RawMessage) string {
	t.Helper()
	var buf bytes.Buffer
	if sf.doc {
		b, err := json.Marshal(map[string]any{"Records": records})
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(b)
	} else {
		for _, r := range records {
			buf.Write(r)
			buf.WriteByte('\n')
		}
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// splitStream cuts the stream before record k of file i: part 1 is the files
// before i and i's first k records, part 2 the rest.
func splitStream(t *testing.T, dir string, files []streamFile, i, k int) (part1, part2 []string) {
	t.Helper()
	for _, f := range files[:i] {
		part1 = append(part1, f.path)
	}
	base := filepath.Base(files[i].path)
	part1 = append(part1, files[i].write(t, filepath.Join(dir, base+".part1"), files[i].records[:k]))
	part2 = append(part2, files[i].write(t, filepath.Join(dir, base+".part2"), files[i].records[k:]))
	for _, f := range files[i+1:] {
		part2 = append(part2, f.path)
	}
	return part1, part2
}

func demoStream(t *testing.T) []streamFile {
	t.Helper()
	paths, _ := filepath.Glob("../../testdata/demo/*")
	if len(paths) != 4 {
		t.Fatalf("demo files: %v", paths)
	}
	var files []streamFile
	for _, p := range paths {
		files = append(files, loadStreamFile(t, p))
	}
	return files
}

// sharedSplunkStream returns Splunk's other Bedrock invocation-log datasets,
// when ../shared/testdata is present.
func sharedSplunkStream(t *testing.T) []streamFile {
	t.Helper()
	paths, _ := filepath.Glob(sharedTestdata + "/splunk-attack_data/datasets/aws_bedrock_claude/*.ndjson")
	var files []streamFile
	for _, p := range paths {
		if strings.Contains(p, "possible_prompt_injection") { // in the demo already
			continue
		}
		files = append(files, loadStreamFile(t, p))
	}
	return files
}

func alertIDs(alerts []alertLine) []string {
	ids := make([]string, len(alerts))
	for i, a := range alerts {
		ids[i] = a.ID
	}
	slices.Sort(ids)
	return ids
}

func byRule(alerts []alertLine, rule string) []alertLine {
	var out []alertLine
	for _, a := range alerts {
		if a.RuleID == rule {
			out = append(out, a)
		}
	}
	return out
}

const llmjackingRule = "bedrock-enumeration-then-invocation-long-term-key"

// TestReplaySplitWithStateDirMatchesWhole: a replay cut in two — part 1 with
// --state-dir, part 2 with --state-dir --flush — prints exactly the alert
// lines of one replay of both parts, wherever the cut falls: between the
// LLMjacking key's InvokeModel and its ListFoundationModels (delivered in
// that order), inside the Splunk prompt-injection set while suppression
// periods are open, and at file boundaries.
func TestReplaySplitWithStateDirMatchesWhole(t *testing.T) {
	files := demoStream(t)
	files = append(files, sharedSplunkStream(t)...)
	var paths []string
	for _, f := range files {
		paths = append(paths, f.path)
	}
	original, _, _ := replay(t, paths...)
	originalIDs := alertIDs(original)
	if len(byRule(original, llmjackingRule)) != 1 {
		t.Fatalf("the unsplit stream raised %d LLMjacking alerts, want 1", len(byRule(original, llmjackingRule)))
	}

	type cut struct{ file, record int }
	var cuts []cut
	for i, f := range files {
		step := 1
		if len(f.records) > 20 {
			step = len(f.records) / 6
		}
		for k := 0; k < len(f.records); k += step {
			if k == 0 && i == 0 {
				continue
			}
			cuts = append(cuts, cut{i, k})
		}
	}
	for _, c := range cuts {
		name := fmt.Sprintf("%s@%d", filepath.Base(files[c.file].path), c.record)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			part1, part2 := splitStream(t, dir, files, c.file, c.record)
			_, whole, _ := replay(t, append(slices.Clone(part1), part2...)...)
			stateDir := filepath.Join(dir, "state")
			a1, out1, _ := replay(t, append([]string{"--state-dir", stateDir}, part1...)...)
			a2, out2, _ := replay(t, append([]string{"--state-dir", stateDir, "--flush"}, part2...)...)
			if out1+out2 != whole {
				t.Fatalf("split replay differs from the whole:\n--- part 1\n%s--- part 2\n%s--- whole\n%s", out1, out2, whole)
			}
			if got := alertIDs(append(a1, a2...)); !slices.Equal(got, originalIDs) {
				t.Fatalf("alert ids differ from the unsplit files': %d alerts vs %d", len(got), len(originalIDs))
			}
		})
	}
}

// TestReplayStateDirKeepsSequenceAcrossSplit: CloudTrail delivers the
// LLMjacking key's InvokeModel before its ListFoundationModels. Cut between
// them, part 2 raises the alert of the whole replay (enumeration, then the
// first invocation) only because part 1's candidate waited in --state-dir;
// part 2 alone can only pair the enumeration with a later invocation.
func TestReplayStateDirKeepsSequenceAcrossSplit(t *testing.T) {
	dir := t.TempDir()
	llm := loadStreamFile(t, "../../testdata/demo/2-llmjacking-cloudtrail.json")
	if !strings.Contains(string(llm.records[0]), `"InvokeModel"`) || !strings.Contains(string(llm.records[1]), `"ListFoundationModels"`) {
		t.Fatal("the demo no longer delivers InvokeModel before ListFoundationModels")
	}
	part1, part2 := splitStream(t, dir, []streamFile{llm}, 0, 1)
	stateDir := filepath.Join(dir, "state")

	a1, _, _ := replay(t, append([]string{"--state-dir", stateDir}, part1...)...)
	a2, _, _ := replay(t, append([]string{"--state-dir", stateDir, "--flush"}, part2...)...)
	if n := len(byRule(a1, llmjackingRule)); n != 0 {
		t.Fatalf("part 1 raised %d LLMjacking alerts", n)
	}
	seq := byRule(a2, llmjackingRule)
	if len(seq) != 1 || seq[0].Subject != "AKIA5QWEXAMPLELLMJAK" {
		t.Fatalf("part 2 LLMjacking alerts: %+v", seq)
	}
	cited := map[string]bool{}
	for _, e := range seq[0].Data.Evidence {
		cited[e.File] = true
	}
	if !cited[part1[0]] || !cited[part2[0]] {
		t.Fatalf("the alert does not cite both parts: %+v", seq[0].Data.Evidence)
	}

	whole, _, _ := replay(t, llm.path)
	if w := byRule(whole, llmjackingRule); len(w) != 1 || w[0].ID != seq[0].ID {
		t.Fatalf("the split replay's alert is not the whole replay's: %+v vs %+v", seq, w)
	}
	// Part 2 alone pairs the enumeration with a later invocation: another
	// chain, another alert id.
	for _, a := range byRule(replayOK(t, part2...), llmjackingRule) {
		if a.ID == seq[0].ID {
			t.Fatal("part 2 alone raised the same alert; the split test cannot fail")
		}
	}
}

func replayOK(t *testing.T, args ...string) []alertLine {
	t.Helper()
	a, _, _ := replay(t, args...)
	return a
}

// TestReplayStateDirSurvivesReopen: the state a replay leaves is in the
// directory (the pending candidate, the engine's clock, the checkpoint), a
// replay of nothing keeps it, a part without --flush keeps suppression
// periods open, and an empty replay with --flush ends the stream.
func TestReplayStateDirSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	stateDir := filepath.Join(dir, "state")
	llm := loadStreamFile(t, "../../testdata/demo/2-llmjacking-cloudtrail.json")
	part1, part2 := splitStream(t, dir, []streamFile{llm}, 0, 1)
	empty := filepath.Join(dir, "empty.jsonl")
	os.WriteFile(empty, nil, 0o644)

	part2 = append(part2, "../../testdata/demo/4-splunk-bedrock-prompt-injection.ndjson") // suppression periods
	replay(t, append([]string{"--state-dir", stateDir}, part1...)...)

	db, err := state.Open(stateDir, state.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	v := db.Partition(0)
	if _, ok, err := v.Get("q/" + llmjackingRule + "/AKIA5QWEXAMPLELLMJAK"); err != nil || !ok {
		t.Fatalf("the InvokeModel candidate is not in the state dir: %v, %v", ok, err)
	}
	if _, ok, _ := v.Get("m/engine"); !ok {
		t.Fatal("the engine's clock is not in the state dir")
	}
	if cp, ok, err := v.ReadCheckpoint(); err != nil || !ok || cp.Version != state.FormatVersion {
		t.Fatalf("checkpoint: %+v, %v, %v", cp, ok, err)
	}
	if n, _ := v.Count("x/"); n == 0 {
		t.Fatal("no expiry entries")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	if a, _, _ := replay(t, "--state-dir", stateDir, empty); len(a) != 0 {
		t.Fatalf("a replay of nothing raised %d alerts", len(a))
	}
	a2, _, _ := replay(t, append([]string{"--state-dir", stateDir}, part2...)...)
	if len(byRule(a2, llmjackingRule)) != 1 {
		t.Fatalf("after two reopenings the sequence did not fire: %+v", a2)
	}
	// The stream has not ended: the same replay in memory closes periods
	// and emits follow-ups that the state dir still holds.
	all, _, _ := replay(t, append(slices.Clone(part1), part2...)...)
	if len(all) <= len(a2) {
		t.Fatal("the in-memory replay has no follow-up alert that the state dir holds back")
	}
	end, _, _ := replay(t, "--state-dir", stateDir, "--flush", empty)
	if len(a2)+len(end) != len(all) {
		t.Fatalf("part 2 gave %d alerts and the closing replay %d; one replay gives %d", len(a2), len(end), len(all))
	}
	for _, a := range end {
		if a.Data.SuppressionOf == "" {
			t.Errorf("the closing replay raised a non-follow-up alert: %+v", a)
		}
	}
}

func TestReplayStateDirInUse(t *testing.T) {
	stateDir := t.TempDir()
	db, err := state.Open(stateDir, state.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"replay", "--progress=false", "--state-dir", stateDir, "../../testdata/demo/3-endpoint-ecs.jsonl"}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), stateDir) || !strings.Contains(errb.String(), "in use by another process") {
		t.Fatalf("exit %d, stderr:\n%s", code, errb.String())
	}
	if out.Len() != 0 {
		t.Fatalf("alerts printed although the state could not be opened:\n%s", out.String())
	}
}

func TestReplayHelpExplainsStateDir(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"replay", "--help"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d", code)
	}
	help := out.String() + errb.String()
	for _, want := range []string{"--state-dir", "--flush", "BEDROCKWATCH_STATE_DIR", "continues exactly", "same alerts as one replay"} {
		if !strings.Contains(help, want) {
			t.Errorf("replay --help lacks %q", want)
		}
	}
}
