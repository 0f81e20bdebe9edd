{{/* Full name of the release's objects. */}}
{{- define "edgek8s-agent.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "edgek8s-agent.serviceAccountName" -}}
{{- default (include "edgek8s-agent.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "edgek8s-agent.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "edgek8s-agent.labels" -}}
{{ include "edgek8s-agent.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: edgek8s
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The namespaces served in `namespaces` mode: the list, or the release namespace. */}}
{{- define "edgek8s-agent.namespaces" -}}
{{- if .Values.watch.namespaces -}}
{{- join "," .Values.watch.namespaces -}}
{{- else -}}
{{- .Release.Namespace -}}
{{- end -}}
{{- end -}}

{{/* The agent's API rights (agent/src/rbac.ts is the source; a test keeps them equal). */}}
{{- define "edgek8s-agent.rules" -}}
- apiGroups: ["edgek8s.io"]
  resources: ["edgedeployments"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["edgek8s.io"]
  resources: ["edgedeployments/status"]
  verbs: ["get", "patch", "update"]
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
- apiGroups: [""]
  resources: ["services", "secrets", "persistentvolumeclaims", "serviceaccounts"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch", "list"]
{{- if .Values.hubBridge.enabled }}
- apiGroups: ["edgek8s.io"]
  resources: ["edgedeployments"]
  verbs: ["create", "patch", "update"]
{{- end }}
{{- if .Values.releaseEngine.enabled }}
- apiGroups: ["edgek8s.io"]
  resources: ["edgereleases"]
  verbs: ["list", "watch"]
- apiGroups: ["edgek8s.io"]
  resources: ["edgereleases/status"]
  verbs: ["patch"]
- apiGroups: [""]
  resources: ["namespaces"]
  verbs: ["list", "watch"]
- apiGroups: ["edgek8s.io"]
  resources: ["edgedeployments"]
  verbs: ["patch"]
{{- end }}
{{- end -}}

{{/* Leader election: the agent's Lease in the release namespace only. */}}
{{- define "edgek8s-agent.leaderElectionRules" -}}
- apiGroups: ["coordination.k8s.io"]
  resources: ["leases"]
  verbs: ["get", "create", "update"]
{{- end -}}
