package schemas

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// sharedTestdata is the read-only sample tree (see ../../shared/testdata/PROVENANCE.md).
const sharedTestdata = "../../shared/testdata"

// sample returns the path of a shared sample, skipping the test when the
// shared tree is absent.
func sample(t testing.TB, rel string) string {
	t.Helper()
	if _, err := os.Stat(sharedTestdata); err != nil {
		t.Skipf("shared testdata not available: %v", err)
	}
	return filepath.Join(sharedTestdata, rel)
}

// readSample reads a shared sample file.
func readSample(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(sample(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sampleLines returns the non-blank lines of a JSON-lines sample.
func sampleLines(t testing.TB, rel string) [][]byte {
	t.Helper()
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(readSample(t, rel)))
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
			out = append(out, append([]byte(nil), line...))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// sampleDocuments splits a file of concatenated JSON documents (as some Sigma
// regression files are) into one raw document each.
func sampleDocuments(t testing.TB, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var out [][]byte
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, append([]byte(nil), raw...))
	}
	return out
}

// sampleGlob returns shared sample files matching pattern.
func sampleGlob(t testing.TB, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(sample(t, "."), pattern))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples match %s (%v)", pattern, err)
	}
	return files
}

// decodeAll decodes msg with a fresh Decoder of cfg and returns the records.
func decodeAll(t testing.TB, cfg Config, msg []byte) []Record {
	t.Helper()
	d, err := NewDecoder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return decodeWith(d, msg)
}

// decodeWith decodes msg with d and returns the records it yields.
func decodeWith(d *Decoder, msg []byte) []Record {
	var out []Record
	d.Decode(msg, Origin{Topic: "t"}, func(r Record) { out = append(out, r) })
	return out
}

// allProviders decodes CloudTrail records of every service.
func allProviders() Config { return Config{MaxRecordBytes: 1 << 20} }

// decodeLineEvents decodes every non-blank line of a JSON-lines sample with
// all providers wanted, requires each to be one event, and returns them.
func decodeLineEvents(t *testing.T, rel string) []*Event {
	t.Helper()
	d, _ := NewDecoder(allProviders())
	var out []*Event
	for i, line := range sampleLines(t, rel) {
		recs := decodeWith(d, line)
		if len(recs) != 1 || recs[0].Status != StatusEvent {
			t.Fatalf("%s line %d: %v (%v)", rel, i+1, outcomesOf(recs), recs[0].Err)
		}
		out = append(out, recs[0].Event)
	}
	return out
}
