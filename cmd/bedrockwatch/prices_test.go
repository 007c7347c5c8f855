package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bedrockwatch/bedrockwatch/processor"
)

func TestLoadPricesAddsAndReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "prices.yaml")
	os.WriteFile(path, []byte(`
- {prefix: anthropic.claude-3-opus, input_per_1k: 0.01, output_per_1k: 0.05}   # negotiated
- {prefix: ai21., input_per_1k: 0.0005, output_per_1k: 0.0007}                  # a family we lack
`), 0o644)
	ps, err := loadPrices(path)
	if err != nil {
		t.Fatal(err)
	}
	def := processor.DefaultPrices()
	if len(ps) != len(def)+1 {
		t.Fatalf("%d prices, want %d", len(ps), len(def)+1)
	}
	found := map[string]processor.ModelPrice{}
	for _, p := range ps {
		found[p.Prefix] = p
	}
	if p := found["anthropic.claude-3-opus"]; p.InputPer1K != 0.01 || p.OutputPer1K != 0.05 {
		t.Errorf("opus not replaced: %+v", p)
	}
	if p := found["ai21."]; p.InputPer1K != 0.0005 {
		t.Errorf("ai21 not added: %+v", p)
	}
	for _, d := range def {
		if d.Prefix != "anthropic.claude-3-opus" && found[d.Prefix] != d {
			t.Errorf("built-in %s changed to %+v", d.Prefix, found[d.Prefix])
		}
	}

	os.WriteFile(path, []byte("- {prefix: x., input: 1}\n"), 0o644)
	if _, err := loadPrices(path); err == nil || !strings.Contains(err.Error(), "input_per_1k") {
		t.Errorf("unknown key: %v", err)
	}
	if _, err := loadPrices(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("missing file accepted")
	}
}
