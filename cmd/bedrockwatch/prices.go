package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/bedrockwatch/bedrockwatch/processor"
)

const pricesUsage = "YAML file of model prices, a list of {prefix, input_per_1k, output_per_1k} in USD per 1,000 tokens; entries add to the built-in table, and an entry whose prefix is in it replaces it (see README, Cost)"

// loadPrices returns the built-in price table with the entries of the YAML
// file at path added or replacing those of the same prefix. An empty path
// gives the built-in table.
func loadPrices(path string) ([]processor.ModelPrice, error) {
	ps := processor.DefaultPrices()
	if path == "" {
		return ps, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--prices: %w", err)
	}
	var file []processor.ModelPrice
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil {
		return nil, fmt.Errorf("--prices %s: %w (want a list of {prefix: anthropic.claude-3-5-sonnet, input_per_1k: 0.003, output_per_1k: 0.015})", path, err)
	}
	for _, p := range file {
		replaced := false
		for i := range ps {
			if strings.EqualFold(ps[i].Prefix, p.Prefix) {
				ps[i], replaced = p, true
			}
		}
		if !replaced {
			ps = append(ps, p)
		}
	}
	return ps, nil
}
