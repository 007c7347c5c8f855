{{/*
Names, labels and the pieces of the pod spec shared by several templates.
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "bedrockwatch.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of the release's resources: fullnameOverride, else the release name, followed by
the chart name unless the release name contains it. Truncated to 52 characters, because the
StatefulSet's pods get a controller-revision-hash label of name + 11 characters (63 at most).
*/}}
{{- define "bedrockwatch.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* chart-version, for the helm.sh/chart label. */}}
{{- define "bedrockwatch.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every resource. */}}
{{- define "bedrockwatch.labels" -}}
helm.sh/chart: {{ include "bedrockwatch.chart" . }}
{{ include "bedrockwatch.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: bedrockwatch
{{- end }}

{{/* Labels that select the release's pods (immutable in the StatefulSet: never change them). */}}
{{- define "bedrockwatch.selectorLabels" -}}
app.kubernetes.io/name: {{ include "bedrockwatch.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The ServiceAccount the pods run as. */}}
{{- define "bedrockwatch.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "bedrockwatch.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The image reference: repository:tag, or repository@digest. */}}
{{- define "bedrockwatch.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/* Name of the headless Service that governs the StatefulSet. */}}
{{- define "bedrockwatch.headlessName" -}}
{{- printf "%s-headless" (include "bedrockwatch.fullname" .) }}
{{- end }}

{{/* Name of the ConfigMap of custom rules. */}}
{{- define "bedrockwatch.rulesName" -}}
{{- printf "%s-rules" (include "bedrockwatch.fullname" .) }}
{{- end }}

{{/*
Paths inside the container. Each mount is a directory of its own (nothing is mounted inside a
ConfigMap or Secret volume); rule files are mounted one by one with subPath, so the rules
directory holds only the rule files and not the ..data links of a ConfigMap volume.
*/}}
{{- define "bedrockwatch.configDir" -}}/etc/bedrockwatch/config{{- end }}
{{- define "bedrockwatch.rulesDir" -}}/etc/bedrockwatch/rules{{- end }}
{{- define "bedrockwatch.saslDir" -}}/etc/bedrockwatch/sasl{{- end }}
{{- define "bedrockwatch.tlsCADir" -}}/etc/bedrockwatch/tls/ca{{- end }}
{{- define "bedrockwatch.tlsClientDir" -}}/etc/bedrockwatch/tls/client{{- end }}

{{/* SASL mechanisms that authenticate with a user name and password. */}}
{{- define "bedrockwatch.saslPassword" -}}
{{- if has .Values.kafka.sasl.mechanism (list "PLAIN" "SCRAM-SHA-256" "SCRAM-SHA-512") }}true{{ end }}
{{- end }}

{{/*
The binary's config file (`bedrockwatch run --config`): keys are the flag names of `run`
(cmd/bedrockwatch/run.go). cmd/bedrockwatch/chart_test.go loads it through the binary's own
loader, which rejects unknown keys, so the chart and the binary cannot drift apart.
The SASL user name comes from BEDROCKWATCH_SASL_USERNAME and the instance id from
BEDROCKWATCH_INSTANCE_ID (the pod name), both set in the StatefulSet.
*/}}
{{- define "bedrockwatch.config" -}}
{{- $k := .Values.kafka }}
{{- $e := .Values.engine }}
{{- $c := dict
  "brokers" $k.brokers
  "cloudtrail-topic" $k.topics.cloudtrail
  "invocations-topic" $k.topics.invocations
  "endpoint-topic" $k.topics.endpoint
  "alerts-topic" $k.topics.alerts
  "dlq-topic" $k.topics.dlq
  "events-topic" $k.topics.events
  "changelog-topic" $k.topics.changelog
  "group" $k.group
  "state-dir" .Values.state.mountPath
  "create-topics" $k.createTopics
  "partitions" (int $k.partitions)
  "replication-factor" (int $k.replicationFactor)
  "max-poll-records" (int $k.maxPollRecords)
  "transaction-timeout" $k.transactionTimeout
  "allowed-lateness" $e.allowedLateness
  "idle-advance" $e.idleAdvance
  "input-idle" $e.inputIdle
  "prompt-chars" (int $e.promptChars)
  "max-evidence" (int $e.maxEvidence)
  "max-record-bytes" (int64 $e.maxRecordBytes)
  "cloudtrail-providers" $e.cloudtrailProviders
  "all-providers" $e.allProviders
  "tls" $k.tls.enabled
  "sasl-mechanism" $k.sasl.mechanism
  "metrics-addr" (printf ":%d" (int .Values.metrics.port))
  "pprof" .Values.metrics.pprof
  "log-level" .Values.logging.level
  "log-format" .Values.logging.format
}}
{{- if .Values.rules }}
{{- $_ := set $c "rules" (include "bedrockwatch.rulesDir" .) }}
{{- end }}
{{- if .Values.prices }}
{{- $_ := set $c "prices" (printf "%s/prices.yaml" (include "bedrockwatch.configDir" .)) }}
{{- end }}
{{- if $k.tls.enabled }}
{{- if $k.tls.serverName }}
{{- $_ := set $c "tls-server-name" $k.tls.serverName }}
{{- end }}
{{- $_ := set $c "tls-insecure-skip-verify" $k.tls.insecureSkipVerify }}
{{- if $k.tls.caSecret.name }}
{{- $_ := set $c "tls-ca-file" (printf "%s/ca.crt" (include "bedrockwatch.tlsCADir" .)) }}
{{- end }}
{{- if $k.tls.clientCertSecret.name }}
{{- $_ := set $c "tls-cert-file" (printf "%s/tls.crt" (include "bedrockwatch.tlsClientDir" .)) }}
{{- $_ := set $c "tls-key-file" (printf "%s/tls.key" (include "bedrockwatch.tlsClientDir" .)) }}
{{- end }}
{{- end }}
{{- if include "bedrockwatch.saslPassword" . }}
{{- $_ := set $c "sasl-password-file" (printf "%s/password" (include "bedrockwatch.saslDir" .)) }}
{{- end }}
{{- toYaml $c }}
{{- end }}

{{/*
GOMEMLIMIT in bytes: goMemLimit.percent of resources.limits.memory, a Kubernetes quantity with a
binary (Ki Mi Gi Ti Pi) or decimal (k M G T P) suffix, or plain bytes. Empty when there is no
memory limit. Another notation fails the render rather than guessing.
*/}}
{{- define "bedrockwatch.goMemLimit" -}}
{{- $limit := dig "limits" "memory" "" (.Values.resources | default dict) }}
{{- if and .Values.goMemLimit.enabled $limit }}
{{- $q := toString $limit }}
{{- if not (regexMatch "^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$" $q) }}
{{- fail (printf "resources.limits.memory %q: want a number with an optional suffix Ki, Mi, Gi, Ti, Pi, k, M, G, T or P (or set goMemLimit.enabled: false)" $q) }}
{{- end }}
{{- $num := regexFind "^[0-9]+(\\.[0-9]+)?" $q }}
{{- $unit := trimPrefix $num $q }}
{{- $mult := get (dict "" 1 "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 "Pi" 1125899906842624 "k" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 "P" 1000000000000000) $unit }}
{{- printf "%d" (int64 (floor (divf (mulf (float64 $num) $mult (int .Values.goMemLimit.percent)) 100))) }}
{{- end }}
{{- end }}

{{/*
Checks across values that the schema cannot express; each failure says what to change.
*/}}
{{- define "bedrockwatch.validate" -}}
{{- $k := .Values.kafka }}
{{- $partitions := int $k.partitions }}
{{- if and (not .Values.keda.enabled) (gt (int .Values.replicaCount) $partitions) }}
{{- fail (printf "replicaCount (%d) is more than kafka.partitions (%d): a consumer-group member beyond the partition count gets no partition. Lower replicaCount or add partitions (and raise kafka.partitions)." (int .Values.replicaCount) $partitions) }}
{{- end }}
{{- if .Values.keda.enabled }}
{{- $max := int (include "bedrockwatch.kedaMax" .) }}
{{- if gt $max $partitions }}
{{- fail (printf "keda.maxReplicaCount (%d) is more than kafka.partitions (%d): replicas beyond the partition count would sit idle, each with a volume. Set keda.maxReplicaCount to at most %d, or 0 for kafka.partitions." $max $partitions $partitions) }}
{{- end }}
{{- if gt (int .Values.keda.minReplicaCount) $max }}
{{- fail (printf "keda.minReplicaCount (%d) is more than keda.maxReplicaCount (%d)." (int .Values.keda.minReplicaCount) $max) }}
{{- end }}
{{- if and (eq $k.sasl.mechanism "AWS_MSK_IAM") (not .Values.keda.authenticationRef) }}
{{- fail "keda.authenticationRef: with kafka.sasl.mechanism AWS_MSK_IAM, name a TriggerAuthentication that gives KEDA's Kafka scaler its AWS identity (the chart creates one only for PLAIN, SCRAM and TLS)." }}
{{- end }}
{{- end }}
{{- if include "bedrockwatch.saslPassword" . }}
{{- if not $k.sasl.username }}
{{- fail (printf "kafka.sasl.username is required with kafka.sasl.mechanism %s." $k.sasl.mechanism) }}
{{- end }}
{{- if not $k.sasl.passwordSecret.name }}
{{- fail (printf "kafka.sasl.passwordSecret.name is required with kafka.sasl.mechanism %s: name an existing Secret holding the password under kafka.sasl.passwordSecret.key." $k.sasl.mechanism) }}
{{- end }}
{{- end }}
{{- if and (not $k.tls.enabled) (or $k.tls.caSecret.name $k.tls.clientCertSecret.name) }}
{{- fail "kafka.tls.caSecret / kafka.tls.clientCertSecret are set but kafka.tls.enabled is false: enable TLS or remove them." }}
{{- end }}
{{- if and $k.tls.clientCertSecret.name (eq $k.tls.clientCertSecret.certKey $k.tls.clientCertSecret.keyKey) }}
{{- fail "kafka.tls.clientCertSecret.certKey and keyKey name the same Secret key." }}
{{- end }}
{{- end }}

{{/* keda.maxReplicaCount, with 0 meaning kafka.partitions. */}}
{{- define "bedrockwatch.kedaMax" -}}
{{- if gt (int .Values.keda.maxReplicaCount) 0 }}{{ int .Values.keda.maxReplicaCount }}{{ else }}{{ int .Values.kafka.partitions }}{{ end }}
{{- end }}
