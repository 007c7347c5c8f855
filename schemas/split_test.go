package schemas

import (
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"testing"
)

func split(t *testing.T, in string, max int) []Document {
	t.Helper()
	var out []Document
	err := SplitDocuments(strings.NewReader(in), max, func(d Document) error {
		d.Data = append([]byte(nil), d.Data...)
		out = append(out, d)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSplitDocuments(t *testing.T) {
	cases := []struct {
		name  string
		in    string
		data  []string
		lines []int
	}{
		{"json lines", "{\"a\":1}\n{\"b\":2}\n", []string{`{"a":1}`, `{"b":2}`}, []int{1, 2}},
		{"no final newline", `{"a":1}`, []string{`{"a":1}`}, []int{1}},
		{"blank lines", "\n\n{\"a\":1}\n\n\n{\"b\":\"}\"}\n\n", []string{`{"a":1}`, `{"b":"}"}`}, []int{3, 6}},
		{"pretty array", "[\n {\n  \"a\": \"[x]\"\n }\n]\n", []string{"[\n {\n  \"a\": \"[x]\"\n }\n]"}, []int{1}},
		{"concatenated pretty objects", "{\n\"a\":1\n}\n{\n\"b\":\"\\\"}\"\n}", []string{"{\n\"a\":1\n}", "{\n\"b\":\"\\\"}\"\n}"}, []int{1, 4}},
		{"text lines", "Apache License\n  Version 2.0\n{\"a\":1}\n", []string{"Apache License", "Version 2.0", `{"a":1}`}, []int{1, 2, 3}},
		{"unclosed document", "{\"a\":1}\n{\"b\":\n", []string{`{"a":1}`, `{"b":`}, []int{1, 2}},
		{"bom", "\xEF\xBB\xBF{\"a\":1}", []string{`{"a":1}`}, []int{1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			docs := split(t, c.in, 1<<20)
			if len(docs) != len(c.data) {
				t.Fatalf("got %d documents %v, want %d", len(docs), docs, len(c.data))
			}
			for i, d := range docs {
				if string(d.Data) != c.data[i] || d.Line != c.lines[i] {
					t.Errorf("doc %d = %q at line %d, want %q at line %d", i, d.Data, d.Line, c.data[i], c.lines[i])
				}
			}
		})
	}
}

func TestSplitOversizedIsNotBuffered(t *testing.T) {
	big := `{"a":"` + strings.Repeat("x", 5000) + `"}`
	docs := split(t, big+"\n{\"b\":1}\n", 100)
	if len(docs) != 2 || !docs[0].Oversized || docs[0].Data != nil || docs[0].Size != len(big) {
		t.Fatalf("oversized doc: %+v", docs[0])
	}
	if string(docs[1].Data) != `{"b":1}` || docs[1].Line != 2 {
		t.Fatalf("next doc: %+v", docs[1])
	}
}

func TestOpenMaybeGzip(t *testing.T) {
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write([]byte(`{"a":1}`))
	zw.Close()
	for _, in := range [][]byte{zb.Bytes(), []byte(`{"a":1}`)} {
		rc, err := OpenMaybeGzip(bytes.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		if string(got) != `{"a":1}` {
			t.Fatalf("got %q", got)
		}
	}
}
