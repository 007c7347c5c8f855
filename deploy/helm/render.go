// Package helm renders the bedrockwatch Helm chart (deploy/helm/bedrockwatch) offline, with
// Helm's own Go packages, the way `helm template` does: values files merged over the chart's
// values.yaml, validated against values.schema.json, templates executed by Helm's engine.
//
// It exists for tests: the chart's tests in this directory, and the contract test in
// cmd/bedrockwatch that loads the config file the chart renders through the binary's own
// loader. Nothing in the service imports it.
package helm

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/releaseutil"
	"sigs.k8s.io/yaml"
)

// ChartDir returns the chart's directory, located from this source file so that tests in any
// package find it whatever their working directory.
func ChartDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "bedrockwatch")
}

// Manifest is one Kubernetes object the chart rendered.
type Manifest struct {
	Source string // template it came from, e.g. "bedrockwatch/templates/statefulset.yaml"
	Kind   string
	Name   string
	YAML   string
}

// Release names the release being rendered.
type Release struct {
	Name      string
	Namespace string
}

// Rendered is what Render returns: the manifests in a stable order (by template, then by
// document within it) and the text of NOTES.txt.
type Rendered struct {
	Manifests []Manifest
	Notes     string
}

// Render renders the chart for rel with the values files (later files win, as with repeated
// `helm template -f`) and then set merged over them (nested maps, like --set). Values that
// break values.schema.json, a `fail` in a template and, because the engine runs in strict mode,
// a template that reads a value that does not exist are errors.
func Render(rel Release, valuesFiles []string, set map[string]any) (*Rendered, error) {
	chrt, err := loader.Load(ChartDir())
	if err != nil {
		return nil, fmt.Errorf("loading chart: %w", err)
	}
	vals := map[string]any{}
	for _, f := range valuesFiles {
		v, err := chartutil.ReadValuesFile(f)
		if err != nil {
			return nil, fmt.Errorf("values file %s: %w", f, err)
		}
		vals = merge(vals, v.AsMap())
	}
	vals = merge(vals, set)
	top, err := chartutil.ToRenderValues(chrt, vals, chartutil.ReleaseOptions{
		Name: rel.Name, Namespace: rel.Namespace, Revision: 1, IsInstall: true,
	}, chartutil.DefaultCapabilities.Copy())
	if err != nil {
		return nil, err
	}
	files, err := engine.Engine{Strict: true}.Render(chrt, top)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	out := &Rendered{}
	for _, n := range names {
		switch {
		case path.Base(n) == "NOTES.txt":
			out.Notes = files[n]
			continue
		case strings.HasPrefix(path.Base(n), "_"):
			continue // partials render nothing
		}
		docs := releaseutil.SplitManifests(files[n])
		keys := make([]string, 0, len(docs))
		for k := range docs {
			keys = append(keys, k)
		}
		sort.Sort(releaseutil.BySplitManifestsOrder(keys))
		for _, k := range keys {
			var head struct {
				Kind     string `json:"kind"`
				Metadata struct {
					Name string `json:"name"`
				} `json:"metadata"`
			}
			if err := yaml.Unmarshal([]byte(docs[k]), &head); err != nil {
				return nil, fmt.Errorf("%s: %w", n, err)
			}
			if head.Kind == "" && head.Metadata.Name == "" {
				if onlyComments(docs[k]) {
					continue
				}
				return nil, fmt.Errorf("%s: a document without kind or metadata.name:\n%s", n, docs[k])
			}
			out.Manifests = append(out.Manifests, Manifest{Source: n, Kind: head.Kind, Name: head.Metadata.Name, YAML: docs[k]})
		}
	}
	if len(out.Manifests) == 0 {
		return nil, errors.New("the chart rendered no manifests")
	}
	return out, nil
}

func onlyComments(doc string) bool {
	for _, l := range strings.Split(doc, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			return false
		}
	}
	return true
}

// merge returns dst with src merged over it: maps merge key by key, anything else in src
// replaces what dst holds. dst is modified.
func merge(dst, src map[string]any) map[string]any {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				dst[k] = merge(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
	return dst
}
