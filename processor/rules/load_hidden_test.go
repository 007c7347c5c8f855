package rules

import (
	"strings"
	"testing"
	"testing/fstest"
)

// TestLoadFSSkipsHiddenEntries: a ConfigMap mounted as a directory holds
// each file under ..data and ..<timestamp> too; the rule loads once.
func TestLoadFSSkipsHiddenEntries(t *testing.T) {
	rule := []byte(`id: custom-rule
name: Custom
severity: low
risk_score: 21
query: any where event.action == "X"
tests:
  - name: fires
    events: [{"@timestamp": "2026-03-01T10:00:00Z", event.action: X, user.id: u}]
    expect: [{subject: u}]
`)
	fsys := fstest.MapFS{
		"rules/custom.yaml":                         {Data: rule},
		"rules/..data/custom.yaml":                  {Data: rule},
		"rules/..2026_11_22_07_00_00.1/custom.yaml": {Data: rule},
		"rules/.hidden.yaml":                        {Data: []byte("not: a rule")},
	}
	rs, err := LoadFS(fsys, "rules", "/etc/bedrockwatch/rules")
	if err != nil {
		t.Fatalf("loading: %v", err)
	}
	if len(rs) != 1 || rs[0].ID != "custom-rule" || !strings.HasSuffix(rs[0].File, "custom.yaml") {
		t.Fatalf("rules: %+v", rs)
	}
}
