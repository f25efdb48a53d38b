{{- define "spinkube-c.labels" -}}
app.kubernetes.io/name: spin-controller
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: spinkube-c
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "spinkube-c.selector" -}}
app.kubernetes.io/name: spin-controller
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "spinkube-c.installerLabels" -}}
app.kubernetes.io/name: spinkube-node-installer
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: spinkube-c
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "spinkube-c.installerSelector" -}}
app.kubernetes.io/name: spinkube-node-installer
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "spinkube-c.installerImage" -}}
"{{ .Values.nodeInstaller.image.repository }}:{{ .Values.nodeInstaller.image.tag | default .Chart.AppVersion }}"
{{- end -}}

{{/* The apiserver as the host sees it, for pods on the host's network. */}}
{{- define "spinkube-c.installerApiEnv" -}}
{{- with .Values.nodeInstaller.apiServer }}
{{- if .host }}
- {name: KUBERNETES_SERVICE_HOST, value: {{ .host | quote }}}
- {name: KUBERNETES_SERVICE_PORT, value: {{ .port | toString | quote }}}
{{- end }}
{{- end }}
{{- end -}}
