package helm_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	sigsjson "sigs.k8s.io/json"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/bedrockwatch/bedrockwatch/deploy/helm"
	"github.com/bedrockwatch/bedrockwatch/telemetry"
)

const allOn = "testdata/all-on.yaml"

// The objects the chart may render, each with the API version it must use and a fresh value
// to decode it into. A kind missing here fails the test: every manifest is decoded strictly.
// There is no Secret: the chart only refers to existing ones.
var kinds = map[string]struct {
	apiVersion string
	new        func() any
}{
	"StatefulSet":           {"apps/v1", func() any { return &appsv1.StatefulSet{} }},
	"ConfigMap":             {"v1", func() any { return &corev1.ConfigMap{} }},
	"Service":               {"v1", func() any { return &corev1.Service{} }},
	"ServiceAccount":        {"v1", func() any { return &corev1.ServiceAccount{} }},
	"PodDisruptionBudget":   {"policy/v1", func() any { return &policyv1.PodDisruptionBudget{} }},
	"ScaledObject":          {"keda.sh/v1alpha1", func() any { return &scaledObject{} }},
	"TriggerAuthentication": {"keda.sh/v1alpha1", func() any { return &triggerAuthentication{} }},
	"ServiceMonitor":        {"monitoring.coreos.com/v1", func() any { return &serviceMonitor{} }},
}

// The custom resources are decoded into these mirrors of the fields the chart writes, with
// the CRDs' JSON names, so a misspelt field fails like it does for the k8s.io/api types.

type scaledObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		ScaleTargetRef struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Name       string `json:"name"`
		} `json:"scaleTargetRef"`
		MinReplicaCount *int32 `json:"minReplicaCount"`
		MaxReplicaCount *int32 `json:"maxReplicaCount"`
		PollingInterval *int32 `json:"pollingInterval"`
		CooldownPeriod  *int32 `json:"cooldownPeriod"`
		Advanced        *struct {
			HorizontalPodAutoscalerConfig *struct {
				Behavior *autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior"`
			} `json:"horizontalPodAutoscalerConfig"`
		} `json:"advanced"`
		Triggers []struct {
			Type              string            `json:"type"`
			Metadata          map[string]string `json:"metadata"` // KEDA wants strings
			AuthenticationRef *struct {
				Name string `json:"name"`
			} `json:"authenticationRef"`
		} `json:"triggers"`
	} `json:"spec"`
}

type triggerAuthentication struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Env []struct {
			Parameter     string `json:"parameter"`
			Name          string `json:"name"`
			ContainerName string `json:"containerName"`
		} `json:"env"`
		SecretTargetRef []struct {
			Parameter string `json:"parameter"`
			Name      string `json:"name"`
			Key       string `json:"key"`
		} `json:"secretTargetRef"`
	} `json:"spec"`
}

type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		NamespaceSelector *struct {
			MatchNames []string `json:"matchNames"`
		} `json:"namespaceSelector"`
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port          string `json:"port"`
			Path          string `json:"path"`
			Interval      string `json:"interval"`
			ScrapeTimeout string `json:"scrapeTimeout"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// objects is a rendered release, every manifest decoded strictly.
type objects struct {
	r      *helm.Rendered
	byKind map[string][]any
}

func (o *objects) one(t *testing.T, kind string) any {
	t.Helper()
	if n := len(o.byKind[kind]); n != 1 {
		t.Fatalf("want one %s, rendered %d", kind, n)
	}
	return o.byKind[kind][0]
}

func (o *objects) count(kind string) int { return len(o.byKind[kind]) }

// decodeStrict decodes a YAML manifest into v the way the API server does in strict field
// validation: field names match case-sensitively (encoding/json alone would take
// "coolDownPeriod" for "cooldownPeriod"), and unknown or duplicate fields are errors.
func decodeStrict(doc string, v any) error {
	j, err := sigsyaml.YAMLToJSONStrict([]byte(doc))
	if err != nil {
		return err
	}
	strict, err := sigsjson.UnmarshalStrict(j, v)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

func render(t *testing.T, rel helm.Release, files []string, set map[string]any) *objects {
	t.Helper()
	r, err := helm.Render(rel, files, set)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	o := &objects{r: r, byKind: map[string][]any{}}
	for _, m := range r.Manifests {
		var u unstructured.Unstructured
		if err := decodeStrict(m.YAML, &u.Object); err != nil {
			t.Fatalf("%s %s (%s): %v", m.Kind, m.Name, m.Source, err)
		}
		k, ok := kinds[m.Kind]
		if !ok {
			t.Fatalf("%s: kind %s has no strict decoder in this test; add one", m.Source, m.Kind)
		}
		if u.GetAPIVersion() != k.apiVersion {
			t.Errorf("%s %s: apiVersion %q, want %q", m.Kind, m.Name, u.GetAPIVersion(), k.apiVersion)
		}
		if u.GetName() == "" || len(u.GetName()) > 63 {
			t.Errorf("%s: bad name %q", m.Kind, u.GetName())
		}
		if u.GetLabels()["app.kubernetes.io/instance"] != rel.Name {
			t.Errorf("%s %s: app.kubernetes.io/instance label %q, want the release name", m.Kind, m.Name, u.GetLabels()["app.kubernetes.io/instance"])
		}
		v := k.new()
		if err := decodeStrict(m.YAML, v); err != nil {
			t.Fatalf("%s %s (%s) does not decode strictly: %v\n%s", m.Kind, m.Name, m.Source, err, m.YAML)
		}
		o.byKind[m.Kind] = append(o.byKind[m.Kind], v)
	}
	return o
}

var (
	defaultRelease = helm.Release{Name: "bedrockwatch", Namespace: "security"}
	allOnRelease   = helm.Release{Name: "all-on", Namespace: "security"}
)

func container(t *testing.T, sts *appsv1.StatefulSet) corev1.Container {
	t.Helper()
	cs := sts.Spec.Template.Spec.Containers
	if len(cs) != 1 || cs[0].Name != "bedrockwatch" {
		t.Fatalf("want one container named bedrockwatch, got %d", len(cs))
	}
	return cs[0]
}

func env(c corev1.Container, name string) (corev1.EnvVar, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e, true
		}
	}
	return corev1.EnvVar{}, false
}

func mount(c corev1.Container, path string) (corev1.VolumeMount, bool) {
	for _, m := range c.VolumeMounts {
		if m.MountPath == path {
			return m, true
		}
	}
	return corev1.VolumeMount{}, false
}

func volume(sts *appsv1.StatefulSet, name string) (corev1.Volume, bool) {
	for _, v := range sts.Spec.Template.Spec.Volumes {
		if v.Name == name {
			return v, true
		}
	}
	return corev1.Volume{}, false
}

// checkPod asserts what every rendering must hold: probes, security, volumes, static
// membership, the config file mounted where the args say.
func checkPod(t *testing.T, o *objects, metricsPort int32, statePath string) {
	sts := o.one(t, "StatefulSet").(*appsv1.StatefulSet)
	ps := sts.Spec.Template.Spec
	c := container(t, sts)

	if sts.Spec.PodManagementPolicy != appsv1.ParallelPodManagement {
		t.Errorf("podManagementPolicy %q, want Parallel", sts.Spec.PodManagementPolicy)
	}
	sel, err := metav1.LabelSelectorAsSelector(sts.Spec.Selector)
	if err != nil || !sel.Matches(labels.Set(sts.Spec.Template.Labels)) {
		t.Errorf("the StatefulSet's selector %v does not match its pod labels %v (%v)", sts.Spec.Selector, sts.Spec.Template.Labels, err)
	}

	// Probes: startup and readiness on /readyz (state restored), liveness on /healthz.
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"startup", c.StartupProbe, "/readyz"}, {"readiness", c.ReadinessProbe, "/readyz"}, {"liveness", c.LivenessProbe, "/healthz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s probe: missing or not HTTP", p.name)
			continue
		}
		if p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port.StrVal != "metrics" {
			t.Errorf("%s probe: GET %s on port %v, want %s on port metrics", p.name, p.probe.HTTPGet.Path, p.probe.HTTPGet.Port.String(), p.path)
		}
	}
	if sp := c.StartupProbe; sp != nil && sp.PeriodSeconds*sp.FailureThreshold < 600 {
		t.Errorf("startup probe allows %d s; it must cover restoring state (at least 10 minutes)", sp.PeriodSeconds*sp.FailureThreshold)
	}
	if len(c.Ports) != 1 || c.Ports[0].Name != "metrics" || c.Ports[0].ContainerPort != metricsPort {
		t.Errorf("container ports %+v, want metrics:%d", c.Ports, metricsPort)
	}

	// Static membership: the instance id is the pod name.
	if e, ok := env(c, "BEDROCKWATCH_INSTANCE_ID"); !ok || e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "metadata.name" {
		t.Errorf("BEDROCKWATCH_INSTANCE_ID must come from the downward API metadata.name, got %+v", e)
	}
	if ps.EnableServiceLinks == nil || *ps.EnableServiceLinks {
		t.Error("enableServiceLinks must be false: service links add BEDROCKWATCH_*-prefixed variables")
	}
	if ps.AutomountServiceAccountToken == nil || *ps.AutomountServiceAccountToken {
		t.Error("automountServiceAccountToken must be false")
	}
	if ps.TerminationGracePeriodSeconds == nil || *ps.TerminationGracePeriodSeconds < 30 {
		t.Errorf("terminationGracePeriodSeconds %v, want at least 30", ps.TerminationGracePeriodSeconds)
	}

	// Security: non-root, read-only root filesystem, no capabilities, RuntimeDefault seccomp.
	psc, sc := ps.SecurityContext, c.SecurityContext
	if psc == nil || sc == nil {
		t.Fatal("pod and container security contexts must be set")
	}
	if psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Error("runAsNonRoot must be true on the pod and the container")
	}
	if psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Error("runAsUser must be a non-zero uid")
	}
	if psc.FSGroup == nil {
		t.Error("fsGroup must be set, or the state volume is not writable")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("readOnlyRootFilesystem must be true")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation must be false")
	}
	if sc.Capabilities == nil || !reflect.DeepEqual(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 {
		t.Errorf("capabilities %+v, want drop [ALL]", sc.Capabilities)
	}
	if psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("seccompProfile %+v, want RuntimeDefault", psc.SeccompProfile)
	}

	// Writable places: /tmp (emptyDir) and the state directory; the config read-only.
	if _, ok := mount(c, "/tmp"); !ok {
		t.Error("/tmp must be mounted (the root filesystem is read-only)")
	} else if v, _ := volume(sts, "tmp"); v.EmptyDir == nil || v.EmptyDir.SizeLimit == nil {
		t.Errorf("tmp volume %+v, want an emptyDir with a size limit", v)
	}
	if m, ok := mount(c, statePath); !ok || m.Name != "state" || m.ReadOnly {
		t.Errorf("state directory %s: mount %+v, want the writable volume state", statePath, m)
	}
	if m, ok := mount(c, "/etc/bedrockwatch/config"); !ok || !m.ReadOnly || m.SubPath != "" {
		t.Errorf("config mount %+v, want /etc/bedrockwatch/config read-only", m)
	}
	if v, ok := volume(sts, "config"); !ok || v.ConfigMap == nil {
		t.Error("volume config must be a ConfigMap")
	} else if !o.hasConfigMap(v.ConfigMap.Name, "config.yaml") {
		t.Errorf("ConfigMap %s with config.yaml not rendered", v.ConfigMap.Name)
	}
	if want := []string{"run", "--config", "/etc/bedrockwatch/config/config.yaml"}; !reflect.DeepEqual(c.Args, want) {
		t.Errorf("args %q, want %q", c.Args, want)
	}
	// Every mount names a volume of the pod or a claim template.
	for _, m := range c.VolumeMounts {
		_, isVol := volume(sts, m.Name)
		isClaim := false
		for _, pvc := range sts.Spec.VolumeClaimTemplates {
			isClaim = isClaim || pvc.Name == m.Name
		}
		if !isVol && !isClaim {
			t.Errorf("mount %s names no volume", m.Name)
		}
	}
	if sts.Spec.Template.Annotations["checksum/config"] == "" {
		t.Error("pod template needs a checksum/config annotation, or a config change does not roll the pods")
	}

	// The StatefulSet's service is the headless one.
	var headless *corev1.Service
	for _, s := range o.byKind["Service"] {
		if s := s.(*corev1.Service); s.Name == sts.Spec.ServiceName {
			headless = s
		}
	}
	if headless == nil || headless.Spec.ClusterIP != corev1.ClusterIPNone || !headless.Spec.PublishNotReadyAddresses {
		t.Errorf("serviceName %q must name a rendered headless Service publishing not-ready addresses", sts.Spec.ServiceName)
	}

	// PDB: one pod at a time, selecting exactly the StatefulSet's pods.
	if o.count("PodDisruptionBudget") == 1 {
		pdb := o.one(t, "PodDisruptionBudget").(*policyv1.PodDisruptionBudget)
		if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 || pdb.Spec.MinAvailable != nil {
			t.Errorf("PDB maxUnavailable %v minAvailable %v, want maxUnavailable 1 only", pdb.Spec.MaxUnavailable, pdb.Spec.MinAvailable)
		}
		if !reflect.DeepEqual(pdb.Spec.Selector, sts.Spec.Selector) {
			t.Errorf("PDB selector %v, want the StatefulSet's %v", pdb.Spec.Selector, sts.Spec.Selector)
		}
	}
}

func (o *objects) hasConfigMap(name, key string) bool {
	for _, c := range o.byKind["ConfigMap"] {
		if c := c.(*corev1.ConfigMap); c.Name == name && c.Data[key] != "" {
			return true
		}
	}
	return false
}

func TestChartDefaults(t *testing.T) {
	o := render(t, defaultRelease, nil, nil)
	checkPod(t, o, 9090, "/var/lib/bedrockwatch")
	sts := o.one(t, "StatefulSet").(*appsv1.StatefulSet)
	c := container(t, sts)

	if sts.Name != "bedrockwatch" || sts.Spec.Replicas == nil || *sts.Spec.Replicas != 2 {
		t.Errorf("StatefulSet %s replicas %v, want bedrockwatch with 2", sts.Name, sts.Spec.Replicas)
	}
	if c.Image != "ghcr.io/bedrockwatch/bedrockwatch:0.1.0" {
		t.Errorf("image %q, want the appVersion tag", c.Image)
	}
	// A claim per replica for the state directory.
	if n := len(sts.Spec.VolumeClaimTemplates); n != 1 {
		t.Fatalf("want one volume claim template, got %d", n)
	}
	pvc := sts.Spec.VolumeClaimTemplates[0]
	if pvc.Name != "state" || pvc.Spec.Resources.Requests.Storage().String() != "10Gi" ||
		!reflect.DeepEqual(pvc.Spec.AccessModes, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}) || pvc.Spec.StorageClassName != nil {
		t.Errorf("claim template %s %v %v class %v, want state 10Gi ReadWriteOnce default class", pvc.Name, pvc.Spec.Resources.Requests.Storage(), pvc.Spec.AccessModes, pvc.Spec.StorageClassName)
	}
	if _, ok := volume(sts, "state"); ok {
		t.Error("with persistence the state must be a claim, not a pod volume")
	}
	// GOMEMLIMIT: 90% of the 1Gi limit.
	if e, _ := env(c, "GOMEMLIMIT"); e.Value != "966367641" {
		t.Errorf("GOMEMLIMIT %q, want 966367641 (90%% of 1Gi)", e.Value)
	}
	for _, name := range []string{"BEDROCKWATCH_SASL_USERNAME", "OTEL_EXPORTER_OTLP_ENDPOINT"} {
		if _, ok := env(c, name); ok {
			t.Errorf("%s set by default", name)
		}
	}
	if _, ok := volume(sts, "rules"); ok {
		t.Error("no rules volume without rules")
	}
	for _, kind := range []string{"ScaledObject", "TriggerAuthentication", "ServiceMonitor"} {
		if n := o.count(kind); n != 0 {
			t.Errorf("%d %s rendered by default, want none", n, kind)
		}
	}
	if n := o.count("ConfigMap"); n != 1 {
		t.Errorf("%d ConfigMaps by default, want only the config", n)
	}
	if n := o.count("Service"); n != 2 {
		t.Errorf("%d Services, want headless and metrics", n)
	}
	o.one(t, "PodDisruptionBudget")
	sa := o.one(t, "ServiceAccount").(*corev1.ServiceAccount)
	if sa.Name != sts.Spec.Template.Spec.ServiceAccountName {
		t.Errorf("ServiceAccount %s, pods run as %s", sa.Name, sts.Spec.Template.Spec.ServiceAccountName)
	}
	for _, want := range []string{"kubectl -n security get pods -l app.kubernetes.io/instance=bedrockwatch", "port-forward bedrockwatch-0 9090", "at most 6 replicas"} {
		if !strings.Contains(o.r.Notes, want) {
			t.Errorf("NOTES.txt lacks %q:\n%s", want, o.r.Notes)
		}
	}
}

func TestChartAllOn(t *testing.T) {
	o := render(t, allOnRelease, []string{allOn}, nil)
	checkPod(t, o, 9464, "/data/state")
	sts := o.one(t, "StatefulSet").(*appsv1.StatefulSet)
	ps := sts.Spec.Template.Spec
	c := container(t, sts)

	if sts.Name != "detect" {
		t.Errorf("fullnameOverride: StatefulSet %q", sts.Name)
	}
	if sts.Spec.Replicas != nil {
		t.Errorf("replicas %d set although KEDA owns the count", *sts.Spec.Replicas)
	}
	if c.Image != "registry.example.com/sec/bedrockwatch@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" || c.ImagePullPolicy != corev1.PullAlways {
		t.Errorf("image %q %s, want the digest reference, Always", c.Image, c.ImagePullPolicy)
	}
	if e, _ := env(c, "GOMEMLIMIT"); e.Value != "3435973836" {
		t.Errorf("GOMEMLIMIT %q, want 3435973836 (80%% of 4Gi)", e.Value)
	}
	if e, _ := env(c, "BEDROCKWATCH_SASL_USERNAME"); e.Value != "bedrockwatch" {
		t.Errorf("BEDROCKWATCH_SASL_USERNAME %q", e.Value)
	}
	if e, _ := env(c, "OTEL_EXPORTER_OTLP_ENDPOINT"); e.Value != "http://otel-collector.monitoring:4318" {
		t.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT %q", e.Value)
	}
	if e, _ := env(c, "AWS_REGION"); e.Value != "us-east-1" {
		t.Error("extraEnv not passed")
	}
	if len(c.EnvFrom) != 1 || c.EnvFrom[0].ConfigMapRef == nil {
		t.Error("envFrom not passed")
	}
	for _, e := range c.Env {
		if strings.Contains(strings.ToLower(e.Name), "password") {
			t.Errorf("the SASL password must be a mounted file, not env %s", e.Name)
		}
	}
	if ps.PriorityClassName != "security-critical" || ps.NodeSelector["kubernetes.io/os"] != "linux" || len(ps.Tolerations) != 1 ||
		ps.Affinity == nil || len(ps.TopologySpreadConstraints) != 1 || len(ps.ImagePullSecrets) != 1 {
		t.Error("scheduling settings (priorityClassName, nodeSelector, tolerations, affinity, topologySpreadConstraints, imagePullSecrets) not all passed")
	}
	if ps.ServiceAccountName != "detect-sa" || *ps.TerminationGracePeriodSeconds != 120 {
		t.Errorf("serviceAccountName %s grace %d", ps.ServiceAccountName, *ps.TerminationGracePeriodSeconds)
	}
	if sts.Spec.Template.Labels["example.com/tier"] != "detection" || sts.Spec.Template.Annotations["example.com/team"] != "security" {
		t.Error("podLabels / podAnnotations not passed")
	}
	if p := sts.Spec.PersistentVolumeClaimRetentionPolicy; p == nil || p.WhenDeleted != appsv1.DeletePersistentVolumeClaimRetentionPolicyType || p.WhenScaled != appsv1.RetainPersistentVolumeClaimRetentionPolicyType {
		t.Errorf("persistentVolumeClaimRetentionPolicy %+v", p)
	}
	pvc := sts.Spec.VolumeClaimTemplates[0]
	if pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName != "gp3" || pvc.Spec.Resources.Requests.Storage().String() != "50Gi" ||
		pvc.Spec.AccessModes[0] != corev1.ReadWriteOncePod || pvc.Annotations["example.com/backup"] != "false" {
		t.Errorf("claim template %+v", pvc.Spec)
	}
	if c.StartupProbe.FailureThreshold != 720 || c.LivenessProbe.PeriodSeconds != 20 || c.ReadinessProbe.TimeoutSeconds != 3 {
		t.Error("probe settings not passed")
	}

	// Rules: one subPath mount per file, so the directory holds no ..data links.
	rulesCM := ""
	if v, ok := volume(sts, "rules"); !ok || v.ConfigMap == nil {
		t.Fatal("rules volume missing")
	} else {
		rulesCM = v.ConfigMap.Name
	}
	for _, f := range []string{"custom-guardrail-listed.yaml", "bedrock-invocation-logging-modified.yml"} {
		m, ok := mount(c, "/etc/bedrockwatch/rules/"+f)
		if !ok || m.Name != "rules" || m.SubPath != f || !m.ReadOnly {
			t.Errorf("rule %s: mount %+v, want subPath %s of volume rules", f, m, f)
		}
		if !o.hasConfigMap(rulesCM, f) {
			t.Errorf("rule %s not in ConfigMap %s", f, rulesCM)
		}
	}
	// Secrets: mounted, with the keys renamed to the file names the config names.
	for _, s := range []struct{ vol, dir, secret string }{
		{"sasl", "/etc/bedrockwatch/sasl", "kafka-user"},
		{"tls-ca", "/etc/bedrockwatch/tls/ca", "kafka-ca"},
		{"tls-client", "/etc/bedrockwatch/tls/client", "kafka-client"},
	} {
		v, ok := volume(sts, s.vol)
		if !ok || v.Secret == nil || v.Secret.SecretName != s.secret || v.Secret.DefaultMode == nil || *v.Secret.DefaultMode != 0o440 {
			t.Errorf("volume %s: %+v, want Secret %s mode 0440", s.vol, v.Secret, s.secret)
		}
		if m, ok := mount(c, s.dir); !ok || m.Name != s.vol || !m.ReadOnly {
			t.Errorf("mount %s: %+v", s.dir, m)
		}
	}
	if v, _ := volume(sts, "tls-client"); v.Secret != nil && (len(v.Secret.Items) != 2 || v.Secret.Items[0].Key != "user.crt" || v.Secret.Items[1].Path != "tls.key") {
		t.Errorf("tls-client items %+v", v.Secret.Items)
	}
	if _, ok := mount(c, "/etc/ssl/corporate"); !ok {
		t.Error("extraVolumeMounts not passed")
	}

	// KEDA: never more replicas than partitions; scales this StatefulSet on this group's lag.
	so := o.one(t, "ScaledObject").(*scaledObject)
	if so.Spec.MaxReplicaCount == nil || *so.Spec.MaxReplicaCount > 12 || *so.Spec.MaxReplicaCount < 1 {
		t.Errorf("maxReplicaCount %v, want 1..kafka.partitions (12)", so.Spec.MaxReplicaCount)
	}
	if so.Spec.MinReplicaCount == nil || *so.Spec.MinReplicaCount != 2 {
		t.Errorf("minReplicaCount %v", so.Spec.MinReplicaCount)
	}
	if r := so.Spec.ScaleTargetRef; r.APIVersion != "apps/v1" || r.Kind != "StatefulSet" || r.Name != sts.Name {
		t.Errorf("scaleTargetRef %+v, want the StatefulSet %s", r, sts.Name)
	}
	if b := so.Spec.Advanced.HorizontalPodAutoscalerConfig.Behavior; b == nil || b.ScaleDown == nil || *b.ScaleDown.StabilizationWindowSeconds != 1200 {
		t.Error("scale-down stabilization not set")
	}
	if len(so.Spec.Triggers) != 1 {
		t.Fatalf("want one trigger, got %d", len(so.Spec.Triggers))
	}
	tr := so.Spec.Triggers[0]
	wantMeta := map[string]string{
		"bootstrapServers": "b-1.msk.example.com:9096,b-2.msk.example.com:9096", "consumerGroup": "bw-prod",
		"lagThreshold": "5000", "activationLagThreshold": "100", "offsetResetPolicy": "earliest", "allowIdleConsumers": "false",
		"sasl": "scram_sha512", "tls": "enable", "limitToPartitionsWithLag": "true",
	}
	if tr.Type != "kafka" || !reflect.DeepEqual(tr.Metadata, wantMeta) {
		t.Errorf("trigger %s metadata\n %v\nwant\n %v", tr.Type, tr.Metadata, wantMeta)
	}
	ta := o.one(t, "TriggerAuthentication").(*triggerAuthentication)
	if tr.AuthenticationRef == nil || tr.AuthenticationRef.Name != ta.Name {
		t.Errorf("trigger authenticationRef %+v, want %s", tr.AuthenticationRef, ta.Name)
	}
	refs := map[string]string{}
	for _, r := range ta.Spec.SecretTargetRef {
		refs[r.Parameter] = r.Name + "/" + r.Key
	}
	if want := map[string]string{"password": "kafka-user/secret", "ca": "kafka-ca/ca.pem", "cert": "kafka-client/user.crt", "key": "kafka-client/user.key"}; !reflect.DeepEqual(refs, want) {
		t.Errorf("TriggerAuthentication secrets %v, want %v", refs, want)
	}
	if len(ta.Spec.Env) != 1 || ta.Spec.Env[0].Name != "BEDROCKWATCH_SASL_USERNAME" || ta.Spec.Env[0].ContainerName != c.Name {
		t.Errorf("TriggerAuthentication env %+v, want the username from the container", ta.Spec.Env)
	}

	// ServiceMonitor: scrapes the metrics Service and only it (not also the headless one).
	sm := o.one(t, "ServiceMonitor").(*serviceMonitor)
	if sm.Namespace != "monitoring" || sm.Spec.NamespaceSelector == nil || !reflect.DeepEqual(sm.Spec.NamespaceSelector.MatchNames, []string{"security"}) {
		t.Errorf("ServiceMonitor in %q selecting namespaces %+v", sm.Namespace, sm.Spec.NamespaceSelector)
	}
	if sm.Labels["release"] != "kube-prometheus-stack" {
		t.Error("serviceMonitor.labels not passed")
	}
	if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "metrics" || sm.Spec.Endpoints[0].Path != "/metrics" || sm.Spec.Endpoints[0].Interval != "15s" {
		t.Errorf("ServiceMonitor endpoints %+v", sm.Spec.Endpoints)
	}
	smSel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	if err != nil {
		t.Fatal(err)
	}
	var scraped []string
	for _, s := range o.byKind["Service"] {
		s := s.(*corev1.Service)
		if smSel.Matches(labels.Set(s.Labels)) {
			scraped = append(scraped, s.Name)
			if s.Spec.Ports[0].Name != "metrics" || s.Spec.Ports[0].Port != 8080 || s.Spec.Ports[0].TargetPort.StrVal != "metrics" {
				t.Errorf("metrics Service ports %+v", s.Spec.Ports)
			}
		}
	}
	if !reflect.DeepEqual(scraped, []string{"detect-metrics"}) {
		t.Errorf("ServiceMonitor selects Services %v, want only detect-metrics", scraped)
	}

	// Dashboard ConfigMap for Grafana's sidecar.
	var dash *corev1.ConfigMap
	for _, cm := range o.byKind["ConfigMap"] {
		if cm := cm.(*corev1.ConfigMap); cm.Labels["grafana_dashboard"] == "1" {
			dash = cm
		}
	}
	if dash == nil || dash.Namespace != "monitoring" || dash.Annotations["grafana_folder"] != "Security" || !json.Valid([]byte(dash.Data["bedrockwatch.json"])) {
		t.Error("dashboard ConfigMap missing, misplaced or not JSON")
	}
}

// TestChartKEDAReplicaCap: maxReplicaCount 0 means the partition count; more than the
// partition count fails the render, naming both values.
func TestChartKEDAReplicaCap(t *testing.T) {
	o := render(t, defaultRelease, nil, map[string]any{
		"kafka": map[string]any{"partitions": 4},
		"keda":  map[string]any{"enabled": true, "maxReplicaCount": 0},
	})
	so := o.one(t, "ScaledObject").(*scaledObject)
	if *so.Spec.MaxReplicaCount != 4 {
		t.Errorf("maxReplicaCount %d, want kafka.partitions (4)", *so.Spec.MaxReplicaCount)
	}
	if o.count("TriggerAuthentication") != 0 || so.Spec.Triggers[0].AuthenticationRef != nil {
		t.Error("no TriggerAuthentication needed without SASL or TLS secrets")
	}
	_, err := helm.Render(defaultRelease, nil, map[string]any{
		"kafka": map[string]any{"partitions": 4},
		"keda":  map[string]any{"enabled": true, "maxReplicaCount": 5},
	})
	if err == nil || !strings.Contains(err.Error(), "keda.maxReplicaCount (5) is more than kafka.partitions (4)") {
		t.Errorf("maxReplicaCount above the partitions: err %v", err)
	}
}

func TestChartGoMemLimit(t *testing.T) {
	for _, tc := range []struct {
		limit   any
		percent int
		want    string // "" = no GOMEMLIMIT
	}{
		{"1Gi", 90, "966367641"},
		{"512Mi", 90, "483183820"},
		{"1.5Gi", 90, "1449551462"},
		{"2G", 90, "1800000000"},
		{"750M", 100, "750000000"},
		{"4096Ki", 50, "2097152"},
		{"1Ti", 90, "989560464998"},
		{"1073741824", 90, "966367641"},
		{1073741824, 90, "966367641"},
		{nil, 90, ""},
	} {
		limits := map[string]any{"memory": tc.limit} // nil deletes the default, as `--set resources.limits.memory=null`
		o := render(t, defaultRelease, nil, map[string]any{
			"resources":  map[string]any{"limits": limits},
			"goMemLimit": map[string]any{"percent": tc.percent},
		})
		e, ok := env(container(t, o.one(t, "StatefulSet").(*appsv1.StatefulSet)), "GOMEMLIMIT")
		if e.Value != tc.want || ok != (tc.want != "") {
			t.Errorf("limit %v at %d%%: GOMEMLIMIT %q (set %v), want %q", tc.limit, tc.percent, e.Value, ok, tc.want)
		}
	}
	o := render(t, defaultRelease, nil, map[string]any{"goMemLimit": map[string]any{"enabled": false}})
	if _, ok := env(container(t, o.one(t, "StatefulSet").(*appsv1.StatefulSet)), "GOMEMLIMIT"); ok {
		t.Error("GOMEMLIMIT set with goMemLimit.enabled false")
	}
}

// TestChartRejects: bad values fail at render (helm install / template), each with a message
// that names the setting.
func TestChartRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  string // YAML merged over the defaults
		want string
	}{
		{"replicas not a number", `replicaCount: three`, "replicaCount"},
		{"replicas zero", `replicaCount: 0`, "replicaCount"},
		{"unknown SASL mechanism", `kafka: {sasl: {mechanism: FOO}}`, "mechanism"},
		{"lower-case SASL mechanism", `kafka: {sasl: {mechanism: plain}}`, "mechanism"},
		{"misspelt key", `kafka: {topic: {alerts: x}}`, "topic"},
		{"misspelt top-level key", `replicas: 3`, "replicas"},
		{"unknown log level", `logging: {level: verbose}`, "level"},
		{"log format", `logging: {format: xml}`, "format"},
		{"bad duration", `engine: {allowedLateness: 15 minutes}`, "allowedLateness"},
		{"max evidence above 100", `engine: {maxEvidence: 101}`, "maxEvidence"},
		{"no provider", `engine: {cloudtrailProviders: []}`, "cloudtrailProviders"},
		{"no input topic", `kafka: {topics: {cloudtrail: "", invocations: "", endpoint: ""}}`, "topics"},
		{"empty alerts topic", `kafka: {topics: {alerts: ""}}`, "alerts"},
		{"broker without port", `kafka: {brokers: [kafka]}`, "brokers"},
		{"no broker", `kafka: {brokers: []}`, "brokers"},
		{"partitions zero", `kafka: {partitions: 0}`, "partitions"},
		{"rule file not YAML", `rules: {rule.txt: "id: x"}`, "rule.txt"},
		{"price without prefix", `prices: [{input_per_1k: 1, output_per_1k: 1}]`, "prefix"},
		{"KEDA min 0", `keda: {enabled: true, minReplicaCount: 0}`, "minReplicaCount"},
		{"PDB 0", `podDisruptionBudget: {maxUnavailable: 0}`, "maxUnavailable"},
		{"percent above 100", `goMemLimit: {percent: 120}`, "percent"},
		{"memory limit in millibytes", `resources: {limits: {memory: 100m}}`, `resources.limits.memory "100m"`},
		{"memory limit typo", `resources: {limits: {memory: 1GB}}`, "memory"},
		{"replicas above partitions", `{replicaCount: 7, kafka: {partitions: 6}}`, "replicaCount (7) is more than kafka.partitions (6)"},
		{"KEDA max above partitions", `{keda: {enabled: true, maxReplicaCount: 12}, kafka: {partitions: 6}}`, "keda.maxReplicaCount (12) is more than kafka.partitions (6)"},
		{"KEDA min above max", `keda: {enabled: true, minReplicaCount: 5, maxReplicaCount: 3}`, "keda.minReplicaCount (5) is more than keda.maxReplicaCount (3)"},
		{"KEDA with MSK IAM and no auth", `{keda: {enabled: true}, kafka: {sasl: {mechanism: AWS_MSK_IAM}}}`, "keda.authenticationRef"},
		{"SCRAM without user", `kafka: {sasl: {mechanism: SCRAM-SHA-256, passwordSecret: {name: s}}}`, "kafka.sasl.username is required"},
		{"PLAIN without secret", `kafka: {sasl: {mechanism: PLAIN, username: u}}`, "kafka.sasl.passwordSecret.name is required"},
		{"TLS secret without TLS", `kafka: {tls: {caSecret: {name: ca}}}`, "kafka.tls.enabled is false"},
		{"ServiceMonitor without Service", `metrics: {service: {enabled: false}, serviceMonitor: {enabled: true}}`, "metrics.service.enabled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var set map[string]any
			if err := yaml.Unmarshal([]byte(tc.set), &set); err != nil {
				t.Fatal(err)
			}
			_, err := helm.Render(defaultRelease, nil, set)
			if err == nil {
				t.Fatalf("rendered; want an error about %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error does not mention %q:\n%v", tc.want, err)
			}
		})
	}
}

// TestChartPersistenceOff: without claims the state is an emptyDir.
func TestChartPersistenceOff(t *testing.T) {
	o := render(t, defaultRelease, nil, map[string]any{"state": map[string]any{"persistence": map[string]any{"enabled": false}}})
	checkPod(t, o, 9090, "/var/lib/bedrockwatch")
	sts := o.one(t, "StatefulSet").(*appsv1.StatefulSet)
	if len(sts.Spec.VolumeClaimTemplates) != 0 {
		t.Error("claim templates without persistence")
	}
	if v, ok := volume(sts, "state"); !ok || v.EmptyDir == nil {
		t.Errorf("state volume %+v, want an emptyDir", v)
	}
}

// TestChartLint runs helm's own lint (what `helm lint` runs) with the default values and with
// every option on; warnings fail too.
func TestChartLint(t *testing.T) {
	for _, tc := range []struct {
		name string
		file string
	}{{"defaults", ""}, {"all-on", allOn}} {
		t.Run(tc.name, func(t *testing.T) {
			vals := map[string]any{}
			if tc.file != "" {
				data, err := os.ReadFile(tc.file)
				if err != nil {
					t.Fatal(err)
				}
				if err := sigsyaml.Unmarshal(data, &vals); err != nil {
					t.Fatal(err)
				}
			}
			l := lint.All(helm.ChartDir(), vals, "security", false)
			for _, m := range l.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("lint: %s", m)
				} else {
					t.Logf("lint: %s", m)
				}
			}
		})
	}
}

// TestChartValuesDocumented: every key of values.yaml has a comment (above it or on its line).
func TestChartValuesDocumented(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(helm.ChartDir(), "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := strings.TrimPrefix(path+"."+k.Value, ".")
			if strings.TrimSpace(k.HeadComment) == "" && strings.TrimSpace(k.LineComment) == "" {
				t.Errorf("values.yaml:%d: %s has no comment", k.Line, p)
			}
			walk(v, p)
		}
	}
	walk(doc.Content[0], "")
}

// TestChartSchemaCoversValues: values.schema.json describes every key of values.yaml (so
// additionalProperties: false cannot reject a default) and values.yaml every key of the schema.
func TestChartSchemaCoversValues(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(helm.ChartDir(), "values.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	if err := json.Unmarshal(data, &schema); err != nil {
		t.Fatal(err)
	}
	vdata, err := os.ReadFile(filepath.Join(helm.ChartDir(), "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var vals map[string]any
	if err := sigsyaml.Unmarshal(vdata, &vals); err != nil {
		t.Fatal(err)
	}
	// Objects passed to Kubernetes as they are, and maps whose keys are the user's.
	opaque := map[string]bool{"podSecurityContext": true, "securityContext": true, "affinity": true, "resources": true,
		"rules": true, "global": true, "state.pvcRetentionPolicy": true}
	var walk func(s map[string]any, v map[string]any, path string)
	walk = func(s map[string]any, v map[string]any, path string) {
		props, _ := s["properties"].(map[string]any)
		if props == nil {
			return
		}
		for k := range props {
			p := strings.TrimPrefix(path+"."+k, ".")
			if _, ok := v[k]; !ok && !opaque[p] {
				t.Errorf("schema property %s is not in values.yaml", p)
			}
		}
		for k, val := range v {
			p := strings.TrimPrefix(path+"."+k, ".")
			sub, ok := props[k].(map[string]any)
			if !ok {
				t.Errorf("values.yaml key %s is not in values.schema.json", p)
				continue
			}
			if m, ok := val.(map[string]any); ok && !opaque[p] {
				walk(sub, m, p)
			}
		}
	}
	walk(schema, vals, "")
}

// exportedSeries runs the binary's metrics (package telemetry) with every instrument
// recorded once and scrapes its Prometheus endpoint: series name → label names, and the
// metric families.
func exportedSeries(t *testing.T) (series map[string]map[string]bool, families []string) {
	t.Helper()
	for _, v := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"} {
		t.Setenv(v, "")
	}
	ctx := t.Context()
	tel, err := telemetry.Setup(ctx, telemetry.Options{InstanceID: "bedrockwatch-0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	m, err := telemetry.NewMetrics(tel.MeterProvider)
	if err != nil {
		t.Fatal(err)
	}
	m.Consumed(ctx, "cloudtrail", "aws.cloudtrail", 1)
	m.DeadLettered(ctx, "malformed", 1)
	m.Late(ctx, 1)
	m.Alert(ctx, "bedrock-invocation-logging-modified", "high")
	m.ProcessDuration(ctx, "cloudtrail", 0.01)
	m.EventToAlert(ctx, "bedrock-invocation-logging-modified", 3)
	m.Transaction(ctx, true)
	m.SetLag("cloudtrail", 0, 5)
	m.SetWatermarkDelay(0, 1)
	m.SetRestore(0, 10)
	m.SetStateSize(1, 2)

	rec := httptest.NewRecorder()
	tel.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	series = map[string]map[string]bool{}
	labelRE := regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="`)
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if f, ok := strings.CutPrefix(line, "# TYPE "); ok {
			families = append(families, strings.Fields(f)[0])
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, rest, _ := strings.Cut(line, "{")
		name = strings.Fields(name)[0]
		if series[name] == nil {
			series[name] = map[string]bool{}
		}
		if i := strings.LastIndex(rest, "}"); i >= 0 {
			for _, l := range labelRE.FindAllStringSubmatch(rest[:i], -1) {
				series[name][l[1]] = true
			}
		}
	}
	if len(families) == 0 {
		t.Fatalf("no metric families on /metrics:\n%s", rec.Body.String())
	}
	return series, families
}

// TestChartDashboard: the dashboard charts every metric family the binary exports, and its
// queries use only series and labels that exist (plus the target labels Prometheus adds).
func TestChartDashboard(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(helm.ChartDir(), "dashboards", "bedrockwatch.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		UID        string `json:"uid"`
		Title      string `json:"title"`
		Templating struct {
			List []struct {
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			ID      int    `json:"id"`
			Type    string `json:"type"`
			Title   string `json:"title"`
			GridPos struct {
				X, Y, W, H int
			} `json:"gridPos"`
			Targets []struct {
				Expr         string `json:"expr"`
				LegendFormat string `json:"legendFormat"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	if d.UID == "" || d.Title == "" {
		t.Error("dashboard needs a uid and a title")
	}
	series, families := exportedSeries(t)
	targetLabels := map[string]bool{"namespace": true, "pod": true, "instance": true, "job": true, "service": true, "container": true, "endpoint": true}

	metricRE := regexp.MustCompile(`\bbedrockwatch_[a-z0-9_]+`)
	byRE := regexp.MustCompile(`\bby \(([^)]*)\)`)
	legendRE := regexp.MustCompile(`\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}`)
	charted := map[string]bool{}
	check := func(where, expr string, extraLabels ...string) {
		names := metricRE.FindAllString(expr, -1)
		known := map[string]bool{}
		for _, n := range names {
			ls, ok := series[n]
			if !ok {
				t.Errorf("%s: %s is not a series the binary exports", where, n)
				continue
			}
			charted[n] = true
			for l := range ls {
				known[l] = true
			}
		}
		var used []string
		for _, m := range byRE.FindAllStringSubmatch(expr, -1) {
			for _, l := range strings.Split(m[1], ",") {
				used = append(used, strings.TrimSpace(l))
			}
		}
		used = append(used, extraLabels...)
		for _, l := range used {
			if l != "" && !known[l] && !targetLabels[l] {
				t.Errorf("%s: label %q is on none of %v", where, l, names)
			}
		}
	}
	for _, v := range d.Templating.List {
		if v.Definition != "" {
			check("variable "+v.Definition, v.Definition)
		}
	}
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d twice", p.ID)
		}
		ids[p.ID] = true
		if p.GridPos.W < 1 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: grid x %d w %d outside 24 columns", p.Title, p.GridPos.X, p.GridPos.W)
		}
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			if strings.Count(tg.Expr, "(") != strings.Count(tg.Expr, ")") {
				t.Errorf("panel %q: unbalanced parentheses in %s", p.Title, tg.Expr)
			}
			var legend []string
			for _, m := range legendRE.FindAllStringSubmatch(tg.LegendFormat, -1) {
				legend = append(legend, m[1])
			}
			check(fmt.Sprintf("panel %q", p.Title), tg.Expr, legend...)
		}
	}
	for _, f := range families {
		if !charted[f] && !charted[f+"_bucket"] {
			t.Errorf("no panel charts %s", f)
		}
	}
}
