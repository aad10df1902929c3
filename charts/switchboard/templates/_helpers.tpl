{{/*
Chart name, truncated to a valid label value.
*/}}
{{- define "switchboard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of the release's resources. Kept to 49 characters so that
"<fullname>-notifications" still fits in 63.
*/}}
{{- define "switchboard.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 49 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 49 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 49 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "switchboard.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels shared by every resource of the release.
*/}}
{{- define "switchboard.labels" -}}
helm.sh/chart: {{ include "switchboard.chart" . }}
{{ include "switchboard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: switchboard
{{- end }}

{{- define "switchboard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "switchboard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Per-target helpers take (dict "root" $ "target" "<name>").
*/}}
{{- define "switchboard.componentName" -}}
{{- printf "%s-%s" (include "switchboard.fullname" .root) .target }}
{{- end }}

{{- define "switchboard.componentLabels" -}}
{{ include "switchboard.labels" .root }}
app.kubernetes.io/component: {{ .target }}
{{- end }}

{{- define "switchboard.componentSelectorLabels" -}}
{{ include "switchboard.selectorLabels" .root }}
app.kubernetes.io/component: {{ .target }}
{{- end }}

{{- define "switchboard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "switchboard.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "switchboard.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/*
kafka.brokers as the comma-separated string the binary takes (a YAML list is joined).
*/}}
{{- define "switchboard.kafkaBrokers" -}}
{{- if kindIs "slice" .Values.kafka.brokers }}
{{- join "," .Values.kafka.brokers }}
{{- else }}
{{- .Values.kafka.brokers }}
{{- end }}
{{- end }}

{{- define "switchboard.secretName" -}}
{{- .Values.secret.existingSecret | default (printf "%s-secrets" (include "switchboard.fullname" .)) }}
{{- end }}

{{/*
The stores each target talks to, as a space-separated list; fails on an unknown target.
This is a property of the binary, not a setting: a target is given only the credentials
it uses.
*/}}
{{- define "switchboard.dependencies" -}}
{{- $deps := dict }}
{{- $_ := set $deps "eligibility" (list "redis" "postgres" "kafka") }}
{{- $_ := set $deps "calls" (list "postgres" "kafka") }}
{{- $_ := set $deps "routing" (list "redis" "postgres" "kafka") }}
{{- $_ := set $deps "billing" (list "postgres" "kafka") }}
{{- $_ := set $deps "notifications" (list "postgres" "redis" "kafka") }}
{{- $_ := set $deps "webhooks" (list "postgres" "redis" "kafka") }}
{{- if not (hasKey $deps .) }}
{{- fail (printf "targets.%s: unknown target; the binary has %s" . (keys $deps | sortAlpha | join ", ")) }}
{{- end }}
{{- get $deps . | join " " }}
{{- end }}

{{/*
The targets whose gRPC APIs a target calls, space-separated (the binary's --<peer>-address
flags): each reaches them through their Services. A property of the binary.
*/}}
{{- define "switchboard.peers" -}}
{{- $peers := dict }}
{{- $_ := set $peers "eligibility" (list "webhooks") }}
{{- $_ := set $peers "calls" (list "eligibility" "webhooks" "routing") }}
{{- $_ := set $peers "routing" (list "webhooks") }}
{{- $_ := set $peers "billing" (list) }}
{{- $_ := set $peers "notifications" (list "webhooks") }}
{{- $_ := set $peers "webhooks" (list) }}
{{- get $peers . | join " " }}
{{- end }}

{{/*
"true" when an enabled target uses the given store: (dict "root" $ "dependency" "redis").
*/}}
{{- define "switchboard.anyTargetUses" -}}
{{- $found := false }}
{{- range $target, $cfg := .root.Values.targets }}
{{- if and $cfg.enabled (has $.dependency (splitList " " (include "switchboard.dependencies" $target))) }}
{{- $found = true }}
{{- end }}
{{- end }}
{{- if $found }}true{{ end }}
{{- end }}

{{/*
Fail early, at render time, on settings the binary would reject or that cannot work in a
cluster. Renders nothing.
*/}}
{{- define "switchboard.validate" -}}
{{- if and .Values.targets.calls.enabled (not .Values.targets.eligibility.enabled) }}
{{- fail "targets.calls needs targets.eligibility: StartCall reserves every outbound call through it" }}
{{- end }}
{{- if not (include "switchboard.kafkaBrokers" .) }}
{{- fail "kafka.brokers is required: without brokers the binary starts an in-process embedded Kafka, which is for local development only" }}
{{- end }}
{{- if not (has .Values.logLevel (list "debug" "info" "warning" "error")) }}
{{- fail (printf "logLevel must be one of debug, info, warning, error (got %q)" (toString .Values.logLevel)) }}
{{- end }}
{{- if or (lt (int .Values.drainTimeoutSeconds) 0) (gt (int .Values.drainTimeoutSeconds) 600) }}
{{- fail "drainTimeoutSeconds must be between 0 and 600 (the binary accepts up to 10m)" }}
{{- end }}
{{- if le (int .Values.terminationGracePeriodSeconds) (add (int .Values.preStopSleepSeconds) (int .Values.drainTimeoutSeconds)) }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must exceed preStopSleepSeconds + drainTimeoutSeconds (%d), or the kubelet kills pods mid-drain" (int .Values.terminationGracePeriodSeconds) (add (int .Values.preStopSleepSeconds) (int .Values.drainTimeoutSeconds))) }}
{{- end }}
{{- if not .Values.secret.existingSecret }}
{{- if lt (len (toString (.Values.secret.authSecret | default ""))) 16 }}
{{- fail "secret.authSecret is required, at least 16 bytes (or set secret.existingSecret): it is the HS256 key that signs bearer tokens" }}
{{- end }}
{{- if and .Values.secret.redisUrl (not (hasPrefix "redis://" .Values.secret.redisUrl)) }}
{{- fail "secret.redisUrl must start with redis:// (redis://[:password@]host:port/db)" }}
{{- end }}
{{- if and .Values.secret.postgresUrl (not (regexMatch "^postgres(ql)?://" .Values.secret.postgresUrl)) }}
{{- fail "secret.postgresUrl must start with postgresql:// (postgresql://user:pass@host:5432/db)" }}
{{- end }}
{{- if and (include "switchboard.anyTargetUses" (dict "root" . "dependency" "redis")) (not .Values.secret.redisUrl) }}
{{- fail "secret.redisUrl is required by the enabled targets (or set secret.existingSecret)" }}
{{- end }}
{{- if and (include "switchboard.anyTargetUses" (dict "root" . "dependency" "postgres")) (not .Values.secret.postgresUrl) }}
{{- fail "secret.postgresUrl is required by the enabled targets (or set secret.existingSecret)" }}
{{- end }}
{{- end }}
{{- if and .Values.ingress.enabled (not (dig "webhooks" "enabled" false .Values.targets)) }}
{{- fail "ingress.enabled needs targets.webhooks.enabled" }}
{{- end }}
{{- end }}
