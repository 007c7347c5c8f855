package main

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/bedrockwatch/bedrockwatch/deploy/helm"
	"github.com/bedrockwatch/bedrockwatch/processor"
	"github.com/bedrockwatch/bedrockwatch/processor/rules"
	"github.com/bedrockwatch/bedrockwatch/service"
)

// The chart↔binary contract: the pod the Helm chart describes (its args, its BEDROCKWATCH_*
// environment, the config file, rules, prices and Secret files mounted into it) is laid out
// under a temporary root and loaded through parseRunFlags, the binary's own loader, which
// rejects unknown config keys. The loaded configuration must be what the chart's values ask
// for, so the chart and the binary cannot drift apart.

// chartValues are the chart values the binary's configuration comes from.
type chartValues struct {
	Kafka struct {
		Brokers           []string `yaml:"brokers"`
		Partitions        int32    `yaml:"partitions"`
		CreateTopics      bool     `yaml:"createTopics"`
		ReplicationFactor int16    `yaml:"replicationFactor"`
		Group             string   `yaml:"group"`
		Topics            struct {
			CloudTrail  string `yaml:"cloudtrail"`
			Invocations string `yaml:"invocations"`
			Endpoint    string `yaml:"endpoint"`
			Alerts      string `yaml:"alerts"`
			DLQ         string `yaml:"dlq"`
			Events      string `yaml:"events"`
			Changelog   string `yaml:"changelog"`
		} `yaml:"topics"`
		MaxPollRecords     int    `yaml:"maxPollRecords"`
		TransactionTimeout string `yaml:"transactionTimeout"`
		TLS                struct {
			Enabled            bool   `yaml:"enabled"`
			ServerName         string `yaml:"serverName"`
			InsecureSkipVerify bool   `yaml:"insecureSkipVerify"`
			CASecret           struct {
				Name string `yaml:"name"`
			} `yaml:"caSecret"`
			ClientCertSecret struct {
				Name string `yaml:"name"`
			} `yaml:"clientCertSecret"`
		} `yaml:"tls"`
		SASL struct {
			Mechanism string `yaml:"mechanism"`
			Username  string `yaml:"username"`
		} `yaml:"sasl"`
	} `yaml:"kafka"`
	Engine struct {
		AllowedLateness     string   `yaml:"allowedLateness"`
		IdleAdvance         string   `yaml:"idleAdvance"`
		InputIdle           string   `yaml:"inputIdle"`
		PromptChars         int      `yaml:"promptChars"`
		MaxEvidence         int      `yaml:"maxEvidence"`
		MaxRecordBytes      int      `yaml:"maxRecordBytes"`
		CloudTrailProviders []string `yaml:"cloudtrailProviders"`
		AllProviders        bool     `yaml:"allProviders"`
	} `yaml:"engine"`
	Rules  map[string]string      `yaml:"rules"`
	Prices []processor.ModelPrice `yaml:"prices"`
	State  struct {
		MountPath string `yaml:"mountPath"`
	} `yaml:"state"`
	Metrics struct {
		Port  int  `yaml:"port"`
		Pprof bool `yaml:"pprof"`
	} `yaml:"metrics"`
	Logging struct {
		Level  string `yaml:"level"`
		Format string `yaml:"format"`
	} `yaml:"logging"`
}

func readChartValues(t *testing.T, file string) chartValues {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var v chartValues
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return v
}

// The content the test gives every Secret key mounted into the pod; the password file ends
// in a newline, as files made with `kubectl create secret --from-file` often do.
const chartTestPassword = "chart-test-password"

// startChartPod renders the chart with valuesFile (none: the defaults), lays out the
// StatefulSet's container under a temporary root — ConfigMap and Secret volumes as files,
// subPath mounts as single files, container paths in the config file and args moved under
// the root — sets its BEDROCKWATCH_* environment (the pod name for the downward API), and
// loads it all with parseRunFlags.
func startChartPod(t *testing.T, rel helm.Release, valuesFile string) (f *runFlags, root string) {
	t.Helper()
	var files []string
	if valuesFile != "" {
		files = append(files, valuesFile)
	}
	r, err := helm.Render(rel, files, nil)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	configMaps := map[string]map[string]string{}
	var sts *appsv1.StatefulSet
	for _, m := range r.Manifests {
		switch m.Kind {
		case "ConfigMap":
			var cm corev1.ConfigMap
			if err := sigsyaml.UnmarshalStrict([]byte(m.YAML), &cm); err != nil {
				t.Fatal(err)
			}
			configMaps[cm.Name] = cm.Data
		case "StatefulSet":
			sts = &appsv1.StatefulSet{}
			if err := sigsyaml.UnmarshalStrict([]byte(m.YAML), sts); err != nil {
				t.Fatal(err)
			}
		}
	}
	if sts == nil || len(sts.Spec.Template.Spec.Containers) != 1 {
		t.Fatal("the chart rendered no StatefulSet with one container")
	}
	c := sts.Spec.Template.Spec.Containers[0]
	podName := sts.Name + "-0"
	root = t.TempDir()
	under := func(p string) string { return filepath.Join(root, filepath.FromSlash(p)) }

	volumes := map[string]corev1.Volume{}
	for _, v := range sts.Spec.Template.Spec.Volumes {
		volumes[v.Name] = v
	}
	write := func(path, content string) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var mountPaths []string
	for _, m := range c.VolumeMounts {
		mountPaths = append(mountPaths, m.MountPath)
		dst := under(m.MountPath)
		v, ok := volumes[m.Name]
		switch {
		case !ok: // a claim template: an empty directory
			if err := os.MkdirAll(dst, 0o755); err != nil {
				t.Fatal(err)
			}
		case v.ConfigMap != nil:
			data, rendered := configMaps[v.ConfigMap.Name]
			if !rendered { // an extraVolume the chart does not own
				if err := os.MkdirAll(dst, 0o755); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if m.SubPath != "" {
				text, ok := data[m.SubPath]
				if !ok {
					t.Fatalf("mount %s: subPath %s is not a key of ConfigMap %s", m.MountPath, m.SubPath, v.ConfigMap.Name)
				}
				write(dst, text)
				continue
			}
			for k, text := range data {
				write(filepath.Join(dst, k), text)
			}
		case v.Secret != nil:
			if len(v.Secret.Items) == 0 {
				t.Fatalf("Secret volume %s mounts every key: name them (items), the config names the files", m.Name)
			}
			for _, it := range v.Secret.Items {
				content := "-----BEGIN PLACEHOLDER-----\n"
				if it.Path == "password" {
					content = chartTestPassword + "\n"
				}
				write(filepath.Join(dst, it.Path), content)
			}
		default: // emptyDir
			if err := os.MkdirAll(dst, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A container path in the config file or the args is a mount, under one, or the directory
	// of subPath mounts (the rules): move it under root.
	within := func(p, dir string) bool { return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/") }
	relocate := func(p string) string {
		for _, mp := range mountPaths {
			if within(p, mp) || within(mp, p) {
				return under(p)
			}
		}
		return p
	}

	// The environment: the container's BEDROCKWATCH_* variables and nothing else of that prefix.
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "BEDROCKWATCH_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	var known runFlags
	fs := newFlagSet("run", "run", "", io.Discard)
	addRunFlags(fs, &known, true)
	for _, e := range c.Env {
		flagName, ok := strings.CutPrefix(e.Name, "BEDROCKWATCH_")
		if !ok {
			continue
		}
		flagName = strings.ToLower(strings.ReplaceAll(flagName, "_", "-"))
		if fs.Lookup(flagName) == nil {
			t.Errorf("env %s names no flag of run: the binary would ignore it", e.Name)
		}
		switch {
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name":
			t.Setenv(e.Name, podName)
		case e.ValueFrom == nil:
			t.Setenv(e.Name, e.Value)
		default:
			t.Fatalf("env %s: this test does not resolve %+v", e.Name, e.ValueFrom)
		}
	}

	// The config file, its container paths moved under root.
	if len(c.Args) != 3 || c.Args[0] != "run" || c.Args[1] != "--config" {
		t.Fatalf("args %q, want run --config FILE", c.Args)
	}
	cfgPath := relocate(c.Args[2])
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatalf("the config file the args name is not mounted: %v", err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatalf("config file: %v\n%s", err, data)
	}
	for k, v := range cfg {
		if s, ok := v.(string); ok && strings.HasPrefix(s, "/") {
			if cfg[k] = relocate(s); cfg[k] == s {
				t.Errorf("config %s: %s is under no mount of the container", k, s)
			}
		}
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	write(cfgPath, string(out))

	var stderr strings.Builder
	f, err = parseRunFlags([]string{"--config", cfgPath}, &stderr)
	if err != nil {
		t.Fatalf("the binary does not load the chart's configuration: %v\n%s\nconfig file:\n%s", err, stderr.String(), data)
	}
	return f, root
}

func chartDuration(t *testing.T, s string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// checkLoaded compares what the binary loaded with what the values asked for.
func checkLoaded(t *testing.T, f *runFlags, root string, v chartValues, podName string) {
	t.Helper()
	c := f.cfg
	eq := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: binary loaded %#v, chart values say %#v", what, got, want)
		}
	}
	k := v.Kafka
	eq("brokers", c.Brokers, k.Brokers)
	eq("topics", c.Topics, service.Topics{CloudTrail: k.Topics.CloudTrail, Invocations: k.Topics.Invocations,
		Endpoint: k.Topics.Endpoint, Alerts: k.Topics.Alerts, DLQ: k.Topics.DLQ, Events: k.Topics.Events, Changelog: k.Topics.Changelog})
	eq("group", c.Group, k.Group)
	eq("instance id (the pod name)", c.InstanceID, podName)
	eq("state dir", c.StateDir, filepath.Join(root, v.State.MountPath))
	eq("create topics", c.CreateTopics, k.CreateTopics)
	eq("partitions", c.Partitions, k.Partitions)
	eq("replication factor", c.ReplicationFactor, k.ReplicationFactor)
	eq("max poll records", c.MaxPollRecords, k.MaxPollRecords)
	eq("transaction timeout", c.TransactionTimeout, chartDuration(t, k.TransactionTimeout))
	eq("allowed lateness", c.Engine.AllowedLateness, chartDuration(t, v.Engine.AllowedLateness))
	eq("idle advance", c.IdleAdvance, chartDuration(t, v.Engine.IdleAdvance))
	eq("input idle", c.InputIdle, chartDuration(t, v.Engine.InputIdle))
	eq("prompt chars", c.Engine.PromptChars, v.Engine.PromptChars)
	eq("max evidence", c.Engine.MaxEvidence, v.Engine.MaxEvidence)
	eq("max record bytes", c.Decode.MaxRecordBytes, v.Engine.MaxRecordBytes)
	wantProv := []string(v.Engine.CloudTrailProviders)
	if v.Engine.AllProviders {
		wantProv = nil
	}
	eq("cloudtrail providers", c.Decode.CloudTrailProviders, wantProv)

	eq("tls", c.TLS.Enabled, k.TLS.Enabled)
	if k.TLS.Enabled {
		eq("tls server name", c.TLS.ServerName, k.TLS.ServerName)
		eq("tls insecure skip verify", c.TLS.InsecureSkipVerify, k.TLS.InsecureSkipVerify)
	}
	for _, file := range []struct {
		what, path string
		secret     string
	}{{"tls-ca-file", c.TLS.CAFile, k.TLS.CASecret.Name}, {"tls-cert-file", c.TLS.CertFile, k.TLS.ClientCertSecret.Name}, {"tls-key-file", c.TLS.KeyFile, k.TLS.ClientCertSecret.Name}} {
		switch {
		case file.secret == "" && file.path != "":
			t.Errorf("%s %s without a Secret", file.what, file.path)
		case file.secret != "":
			if _, err := os.Stat(file.path); err != nil {
				t.Errorf("%s: the binary reads %s, which the pod does not mount: %v", file.what, file.path, err)
			}
		}
	}
	eq("sasl mechanism", c.SASL.Mechanism, k.SASL.Mechanism)
	eq("sasl username", c.SASL.Username, k.SASL.Username)
	wantPass := ""
	if k.SASL.Username != "" {
		wantPass = chartTestPassword // read from the mounted Secret, newline trimmed
	}
	eq("sasl password", c.SASL.Password, wantPass)

	eq("metrics addr", f.metrics, ":"+strconv.Itoa(v.Metrics.Port))
	eq("pprof", f.pprof, v.Metrics.Pprof)
	eq("log level", f.logLevel, v.Logging.Level)
	eq("log format", f.logFormat, v.Logging.Format)

	// Custom rules are loaded from the mounted directory, over the built-in pack.
	builtin, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*rules.Rule{}
	for _, r := range c.Rules {
		byID[r.ID] = r
	}
	ids := map[string]bool{}
	for _, r := range builtin {
		ids[r.ID] = true
	}
	for file, text := range v.Rules {
		var head struct {
			ID       string `yaml:"id"`
			Severity string `yaml:"severity"`
		}
		if err := yaml.Unmarshal([]byte(text), &head); err != nil {
			t.Fatalf("rule %s: %v", file, err)
		}
		ids[head.ID] = true
		r := byID[head.ID]
		if r == nil || r.Origin == "builtin" || r.Severity != head.Severity {
			t.Errorf("rule %s (%s): loaded %+v, want it from the mounted rules directory", file, head.ID, r)
		}
	}
	if len(c.Rules) != len(ids) {
		t.Errorf("%d rules loaded, want %d (built-in pack plus custom rules)", len(c.Rules), len(ids))
	}
	for _, p := range v.Prices {
		if !slices.Contains(c.Engine.Prices, p) {
			t.Errorf("price %+v not loaded", p)
		}
	}
}

func TestChartConfigLoads(t *testing.T) {
	t.Run("all-on", func(t *testing.T) {
		file := filepath.Join(filepath.Dir(helm.ChartDir()), "testdata", "all-on.yaml")
		f, root := startChartPod(t, helm.Release{Name: "all-on", Namespace: "security"}, file)
		v := readChartValues(t, file)
		checkLoaded(t, f, root, v, "detect-0")
		// The file is meant to switch everything on: make sure it does.
		if !f.cfg.TLS.Enabled || f.cfg.TLS.CAFile == "" || f.cfg.TLS.CertFile == "" || f.cfg.SASL.Password == "" || f.rulesDir == "" || f.prices == "" || !f.pprof {
			t.Error("all-on.yaml leaves an option of the config file off")
		}
	})
	t.Run("defaults", func(t *testing.T) {
		f, root := startChartPod(t, helm.Release{Name: "bedrockwatch", Namespace: "security"}, "")
		v := readChartValues(t, filepath.Join(helm.ChartDir(), "values.yaml"))
		checkLoaded(t, f, root, v, "bedrockwatch-0")
		// The chart's defaults are the binary's: a default changed on one side only fails here.
		def := service.DefaultConfig()
		got := f.cfg
		for _, c := range []struct {
			what      string
			got, want any
		}{
			{"topics", got.Topics, def.Topics},
			{"group", got.Group, def.Group},
			{"partitions", got.Partitions, def.Partitions},
			{"replication factor", got.ReplicationFactor, def.ReplicationFactor},
			{"create topics", got.CreateTopics, true},
			{"max poll records", got.MaxPollRecords, def.MaxPollRecords},
			{"transaction timeout", got.TransactionTimeout, def.TransactionTimeout},
			{"idle advance", got.IdleAdvance, def.IdleAdvance},
			{"input idle", got.InputIdle, def.InputIdle},
			{"allowed lateness", got.Engine.AllowedLateness, def.Engine.AllowedLateness},
			{"prompt chars", got.Engine.PromptChars, def.Engine.PromptChars},
			{"max evidence", got.Engine.MaxEvidence, def.Engine.MaxEvidence},
			{"prices", got.Engine.Prices, def.Engine.Prices},
			{"decode", got.Decode, def.Decode},
			{"sasl", got.SASL, def.SASL},
			{"tls", got.TLS, def.TLS},
			{"metrics addr", f.metrics, ":9090"},
			{"log level", f.logLevel, "info"},
			{"log format", f.logFormat, "json"},
		} {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("default %s: the chart gives %#v, the binary's default is %#v", c.what, c.got, c.want)
			}
		}
	})
}
