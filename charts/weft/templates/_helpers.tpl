{{/* Names, labels and small renderers shared by the templates. */}}

{{- define "weft.labels" -}}
app.kubernetes.io/name: weft
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: weft
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "weft.selector" -}}
app.kubernetes.io/name: weft
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "weft.image" -}}
{{- printf "%s/%s:%s" .root.Values.image.registry .name (.root.Values.image.tag | default .root.Chart.AppVersion) -}}
{{- end -}}

{{/* {cpu, memory, cpuLimit, memoryLimit} as a container's resources; an empty limit is no limit. */}}
{{- define "weft.resources" -}}
requests:
  cpu: {{ .cpu | quote }}
  memory: {{ .memory | quote }}
{{- if or .cpuLimit .memoryLimit }}
limits:
  {{- with .cpuLimit }}
  cpu: {{ . | quote }}
  {{- end }}
  {{- with .memoryLimit }}
  memory: {{ . | quote }}
  {{- end }}
{{- end }}
{{- end -}}

{{/* The same, as the injector config's {requests, limits} mapping. */}}
{{- define "weft.resourceSpec" -}}
{{- $limits := dict -}}
{{- with .cpuLimit }}{{ $_ := set $limits "cpu" (toString .) }}{{ end -}}
{{- with .memoryLimit }}{{ $_ := set $limits "memory" (toString .) }}{{ end -}}
{{- toJson (dict "requests" (dict "cpu" (toString .cpu) "memory" (toString .memory)) "limits" $limits) -}}
{{- end -}}

{{- define "weft.controlPlaneAddress" -}}
{{- .Values.controlPlane.address | default (printf "weft-control-plane.%s.svc:%d" .Release.Namespace (int .Values.controlPlane.port)) -}}
{{- end -}}

{{/* The discovery service: the same host as the identity service, on its own port. */}}
{{- define "weft.discoveryAddress" -}}
{{- $host := (include "weft.controlPlaneAddress" .) | splitList ":" | first -}}
{{- .Values.controlPlane.discoveryAddress | default (printf "%s:%d" $host (int .Values.controlPlane.discoveryPort)) -}}
{{- end -}}

{{/* Non-root, nothing writable but mounted volumes, no capabilities. */}}
{{- define "weft.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "weft.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end -}}

{{/*
The identity CA, computed once per render and shared by the Secret and the
injector's ConfigMap: the operator's (existing Secret or PEM values), else the
one generated on first install and read back with lookup on every upgrade.
Returns JSON {anchors, cert, key, secretName, generated}.
*/}}
{{- define "weft.identityCa" -}}
{{- $ext := .Values.identity.external -}}
{{- $name := "weft-identity-issuer" -}}
{{- $r := dict -}}
{{- if $ext.existingSecret -}}
  {{- $anchors := $ext.trustAnchorsPem -}}
  {{- if not $anchors -}}
    {{- $s := lookup "v1" "Secret" .Release.Namespace $ext.existingSecret -}}
    {{- if and $s $s.data (index $s.data "ca.crt") -}}{{- $anchors = index $s.data "ca.crt" | b64dec -}}{{- end -}}
  {{- end -}}
  {{- $r = dict "anchors" $anchors "cert" "" "key" "" "secretName" $ext.existingSecret "generated" false "external" true -}}
{{- else if or $ext.issuerCertPem $ext.issuerKeyPem $ext.trustAnchorsPem -}}
  {{- if not (and $ext.issuerCertPem $ext.issuerKeyPem $ext.trustAnchorsPem) -}}
    {{- fail "identity.external: give all three of trustAnchorsPem, issuerCertPem and issuerKeyPem (or existingSecret)" -}}
  {{- end -}}
  {{- $r = dict "anchors" $ext.trustAnchorsPem "cert" $ext.issuerCertPem "key" $ext.issuerKeyPem "secretName" $name "generated" false "external" false -}}
{{- else -}}
  {{- $s := lookup "v1" "Secret" .Release.Namespace $name -}}
  {{- if and $s $s.data (index $s.data "issuer.key") -}}
    {{- $r = dict "anchors" (index $s.data "ca.crt" | b64dec) "cert" (index $s.data "issuer.crt" | b64dec) "key" (index $s.data "issuer.key" | b64dec) "secretName" $name "generated" true "external" false -}}
  {{- else -}}
    {{- /* The control plane accepts ECDSA P-256 only; Sprig's genCA makes RSA, so the key is made first. */ -}}
    {{- $key := genPrivateKey "ecdsa" -}}
    {{- $ca := genCAWithKey (printf "weft trial trust anchor (%s)" .Values.identity.trustDomain) (int .Values.identity.generatedValidityDays) $key -}}
    {{- $r = dict "anchors" $ca.Cert "cert" $ca.Cert "key" $ca.Key "secretName" $name "generated" true "external" false -}}
  {{- end -}}
{{- end -}}
{{- /* A trust-manager Bundle's ConfigMap holds the anchors: the injector bootstraps proxies from it too. */ -}}
{{- $tb := .Values.identity.trustBundle -}}
{{- if $tb.configMap -}}
  {{- $cm := lookup "v1" "ConfigMap" .Release.Namespace $tb.configMap -}}
  {{- if and $cm $cm.data (index $cm.data $tb.key) -}}{{- $_ := set $r "anchors" (index $cm.data $tb.key) -}}{{- end -}}
{{- end -}}
{{- toJson $r -}}
{{- end -}}

{{/*
The injector config's tracing block: the tracing values as given (keys set to
null are left out, so the injector's defaults apply), the queue size as an
integer (values.yaml numbers arrive as floats) and the ratio as a number
(`--set` passes decimals as strings).
*/}}
{{- define "weft.tracingConfig" -}}
{{- $out := dict -}}
{{- range $k, $v := .Values.tracing -}}
{{- if not (kindIs "invalid" $v) -}}
{{- if eq $k "maxQueueSize" }}{{ $v = int64 $v }}{{ else if eq $k "samplingRatio" }}{{ $v = float64 $v }}{{ end -}}
{{- $_ := set $out $k $v -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/*
WEFT_TRACING_* for a Weft process's own container (the control plane), from the
same values the injected proxies get through the injector config; nothing when
tracing.endpoint is empty.
*/}}
{{- define "weft.tracingEnv" -}}
{{- $t := .Values.tracing -}}
{{- if $t.endpoint -}}
- name: WEFT_TRACING_ENDPOINT
  value: {{ $t.endpoint | quote }}
{{- with $t.protocol }}
- name: WEFT_TRACING_PROTOCOL
  value: {{ . | quote }}
{{- end }}
{{- if not (kindIs "invalid" $t.samplingRatio) }}
- name: WEFT_TRACING_SAMPLING_RATIO
  value: {{ $t.samplingRatio | toString | quote }}
{{- end }}
{{- with $t.propagation }}
- name: WEFT_TRACING_PROPAGATION
  value: {{ join "," . | quote }}
{{- end }}
{{- with $t.maxQueueSize }}
- name: WEFT_TRACING_MAX_QUEUE_SIZE
  value: {{ int64 . | toString | quote }}
{{- end }}
{{- end -}}
{{- end -}}
