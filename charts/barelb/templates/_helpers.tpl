{{/* Names, labels and the few values computed from others. */}}

{{- define "barelb.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* <release>-barelb, or the release name alone when it already contains the chart's name. */}}
{{- define "barelb.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "barelb.selectorLabels" -}}
app.kubernetes.io/name: {{ include "barelb.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "barelb.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "barelb.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "barelb.controller.serviceAccountName" -}}
{{- if .Values.controller.serviceAccount.create }}
{{- default (printf "%s-controller" (include "barelb.fullname" .)) .Values.controller.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.controller.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "barelb.speaker.serviceAccountName" -}}
{{- if .Values.speaker.serviceAccount.create }}
{{- default (printf "%s-speaker" (include "barelb.fullname" .)) .Values.speaker.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.speaker.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "barelb.memberlistSecretName" -}}
{{- default (printf "%s-memberlist" (include "barelb.fullname" .)) .Values.speaker.secretName }}
{{- end }}

{{/* image: (dict "root" $ "component" .Values.controller) → repository:tag */}}
{{- define "barelb.image" -}}
{{- $repo := default .root.Values.image.repository .component.image.repository }}
{{- $tag := default (default .root.Chart.AppVersion .root.Values.image.tag) .component.image.tag }}
{{- printf "%s:%s" $repo $tag }}
{{- end }}

{{- define "barelb.pullPolicy" -}}
{{- default .root.Values.image.pullPolicy .component.image.pullPolicy }}
{{- end }}

{{/*
MetalLB's log levels to controller-runtime's --zap-log-level: logr has
debug as V(1) and no warn level; "all" shows every verbosity, "none" only
panics.
*/}}
{{- define "barelb.zapLevel" -}}
{{- get (dict "all" "10" "debug" "debug" "info" "info" "error" "error" "none" "panic") . }}
{{- end }}

{{/* probe: (dict "probe" .Values.x.livenessProbe "path" "/healthz") */}}
{{- define "barelb.probe" -}}
httpGet:
  path: {{ .path }}
  port: health
failureThreshold: {{ .probe.failureThreshold }}
initialDelaySeconds: {{ .probe.initialDelaySeconds }}
periodSeconds: {{ .probe.periodSeconds }}
successThreshold: {{ .probe.successThreshold }}
timeoutSeconds: {{ .probe.timeoutSeconds }}
{{- end }}
