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
The modules each target depends on, as a space-separated list; fails on an unknown target.
A property of the binary (the `.deps` of each services/*/module.cc), not a setting:
tests/deploy/check_chart.sh compares this table with the code. "whatsapp" is Meta's
credentials and the Graph API client.
*/}}
{{- define "switchboard.dependencies" -}}
{{- $deps := dict }}
{{- $_ := set $deps "eligibility" (list "redis" "postgres" "kafka") }}
{{- $_ := set $deps "calls" (list "postgres" "kafka" "whatsapp") }}
{{- $_ := set $deps "routing" (list "postgres" "kafka") }}
{{- $_ := set $deps "billing" (list "postgres" "kafka") }}
{{- $_ := set $deps "notifications" (list "postgres" "redis" "kafka" "whatsapp") }}
{{- $_ := set $deps "webhooks" (list "postgres" "redis" "kafka" "whatsapp") }}
{{- $_ := set $deps "gateway" (list "redis") }}
{{- if not (hasKey $deps .) }}
{{- fail (printf "targets.%s: unknown target; the binary has %s" . (keys $deps | sortAlpha | join ", ")) }}
{{- end }}
{{- get $deps . | join " " }}
{{- end }}

{{/*
The keys of the credentials Secret each target gets as environment variables (names of
secret.keys), space-separated: only those whose flags the target reads. A property of the
binary, not a setting; tests/deploy/check_chart.sh checks this table.
- authSecret: every target verifies bearer tokens.
- redisUrl / postgresUrl: the targets depending on redis / postgres above.
- metaAppSecret, metaVerifyToken: webhooks only (the edge checks signatures and the
  subscription handshake).
- metaAccessToken: the targets that call the Graph API: calls (call actions), notifications
  (outbound messages) and webhooks (UpdateCallingSettings pushes the settings to Meta).
*/}}
{{- define "switchboard.secretKeys" -}}
{{- $keys := dict }}
{{- $_ := set $keys "eligibility" (list "authSecret" "redisUrl" "postgresUrl") }}
{{- $_ := set $keys "calls" (list "authSecret" "postgresUrl" "metaAccessToken") }}
{{- $_ := set $keys "routing" (list "authSecret" "postgresUrl") }}
{{- $_ := set $keys "billing" (list "authSecret" "postgresUrl") }}
{{- $_ := set $keys "notifications" (list "authSecret" "redisUrl" "postgresUrl" "metaAccessToken") }}
{{- $_ := set $keys "webhooks" (list "authSecret" "redisUrl" "postgresUrl" "metaAppSecret" "metaVerifyToken" "metaAccessToken") }}
{{- $_ := set $keys "gateway" (list "authSecret" "redisUrl") }}
{{- if not (hasKey $keys .) }}
{{- fail (printf "targets.%s: unknown target; the binary has %s" . (keys $keys | sortAlpha | join ", ")) }}
{{- end }}
{{- get $keys . | join " " }}
{{- end }}

{{/*
The environment variable (the binary's flag) of each key of the credentials Secret.
*/}}
{{- define "switchboard.secretEnvName" -}}
{{- $names := dict }}
{{- $_ := set $names "authSecret" "SWITCHBOARD_AUTH_SECRET" }}
{{- $_ := set $names "redisUrl" "SWITCHBOARD_REDIS_URL" }}
{{- $_ := set $names "postgresUrl" "SWITCHBOARD_POSTGRES_URL" }}
{{- $_ := set $names "metaAppSecret" "SWITCHBOARD_META_APP_SECRET" }}
{{- $_ := set $names "metaVerifyToken" "SWITCHBOARD_META_VERIFY_TOKEN" }}
{{- $_ := set $names "metaAccessToken" "SWITCHBOARD_META_ACCESS_TOKEN" }}
{{- get $names . }}
{{- end }}

{{/*
The targets whose gRPC APIs a target calls, space-separated (the binary's --<peer>-address
flags): each reaches them through their Services. A property of the binary (the `.peers` of
each services/*/module.cc).
*/}}
{{- define "switchboard.peers" -}}
{{- $peers := dict }}
{{- $_ := set $peers "eligibility" (list "webhooks") }}
{{- $_ := set $peers "calls" (list "eligibility" "webhooks" "routing") }}
{{- $_ := set $peers "routing" (list "webhooks") }}
{{- $_ := set $peers "billing" (list) }}
{{- $_ := set $peers "notifications" (list "webhooks") }}
{{- $_ := set $peers "webhooks" (list) }}
{{- $_ := set $peers "gateway" (list "eligibility" "calls" "routing" "billing" "notifications" "webhooks") }}
{{- get $peers . | join " " }}
{{- end }}

{{/*
The HTTP port of a target that serves HTTP besides gRPC and metrics, else nothing:
(dict "root" $ "target" "<name>"). The container and Service port is named "http".
*/}}
{{- define "switchboard.httpPort" -}}
{{- if eq .target "webhooks" }}
{{- int .root.Values.ports.webhooks }}
{{- else if eq .target "gateway" }}
{{- int .root.Values.ports.gateway }}
{{- end }}
{{- end }}

{{/*
"true" when a JWKS source (auth.jwks.configMap or auth.jwks.secret) is set.
*/}}
{{- define "switchboard.jwks" -}}
{{- if or .Values.auth.jwks.configMap .Values.auth.jwks.secret }}true{{ end }}
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
{{- if and .Values.auth.jwks.configMap .Values.auth.jwks.secret }}
{{- fail "auth.jwks: set configMap or secret, not both" }}
{{- end }}
{{- if not .Values.secret.existingSecret }}
{{- if not .Values.secret.authSecret }}
{{- fail "secret.authSecret is required, at least 16 bytes (or set secret.existingSecret): it is the HS256 key that signs the suite's own tokens, with a JWKS or without" }}
{{- end }}
{{- if and .Values.secret.authSecret (lt (len (toString .Values.secret.authSecret)) 16) }}
{{- fail "secret.authSecret must be at least 16 bytes (e.g. openssl rand -base64 48)" }}
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
{{- if and .Values.gateway.ingress.enabled (not (dig "gateway" "enabled" false .Values.targets)) }}
{{- fail "gateway.ingress.enabled needs targets.gateway.enabled" }}
{{- end }}
{{- end }}

{{/*
An Ingress to a target's "http" port: (dict "root" $ "target" "<name>" "ingress" <values>),
where <values> has className, annotations, hosts (host, paths: path, pathType) and tls.
*/}}
{{- define "switchboard.ingress" -}}
{{- $ctx := dict "root" .root "target" .target }}
{{- $service := include "switchboard.componentName" $ctx -}}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ $service }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "switchboard.componentLabels" $ctx | nindent 4 }}
  {{- with .ingress.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  {{- with .ingress.className }}
  ingressClassName: {{ . }}
  {{- end }}
  {{- with .ingress.tls }}
  tls:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  rules:
    {{- range .ingress.hosts }}
    - host: {{ .host | quote }}
      http:
        paths:
          {{- range .paths }}
          - path: {{ .path }}
            pathType: {{ .pathType | default "Prefix" }}
            backend:
              service:
                name: {{ $service }}
                port:
                  name: http
          {{- end }}
    {{- end }}
{{- end }}
