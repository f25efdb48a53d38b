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
