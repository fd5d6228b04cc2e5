{{/* Names: <release>-<chart>, or fullnameOverride; each service's objects add its name. */}}
{{- define "event-pipeline.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* <fullname>-<component>; call with (dict "root" $ "component" "producer"). */}}
{{- define "event-pipeline.componentName" -}}
{{- printf "%s-%s" (include "event-pipeline.fullname" .root | trunc 53 | trimSuffix "-") .component -}}
{{- end -}}

{{- define "event-pipeline.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "event-pipeline.labels" -}}
{{ include "event-pipeline.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: event-pipeline
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Labels of objects that belong to the release rather than to one service. */}}
{{- define "event-pipeline.commonLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: event-pipeline
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "event-pipeline.image" -}}
{{- $image := index .root.Values .component "image" -}}
{{- $repository := $image.repository -}}
{{- with .root.Values.image.registry }}{{ $repository = printf "%s/%s" (trimSuffix "/" .) $repository }}{{ end -}}
{{- printf "%s:%s" $repository (default .root.Chart.AppVersion $image.tag) -}}
{{- end -}}

{{- define "event-pipeline.secretName" -}}
{{- default (include "event-pipeline.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{- define "event-pipeline.tlsMountPath" -}}/etc/event-pipeline/kafka-tls{{- end -}}

{{/* The Kafka and telemetry variables both services read, for their ConfigMaps. */}}
{{- define "event-pipeline.sharedConfig" -}}
{{- $kafka := .Values.kafka -}}
KAFKA_BROKERS: {{ join "," $kafka.brokers | quote }}
EVENTS_TOPIC: {{ $kafka.topic | quote }}
TOPIC_PARTITIONS: {{ $kafka.topicPartitions | quote }}
TOPIC_REPLICATION_FACTOR: {{ $kafka.topicReplicationFactor | quote }}
LOG_LEVEL: {{ .Values.logLevel | quote }}
{{- with .Values.schemaRegistry.url }}
SCHEMA_REGISTRY_URL: {{ . | quote }}
{{- end }}
{{- with $kafka.sasl.mechanism }}
KAFKA_SASL_MECHANISM: {{ . | quote }}
{{- end }}
{{- if $kafka.tls.enabled }}
KAFKA_SSL: "true"
{{- if $kafka.tls.ca.secretName }}
KAFKA_SSL_CA_FILE: {{ printf "%s/ca.crt" (include "event-pipeline.tlsMountPath" .) | quote }}
{{- end }}
{{- if $kafka.tls.clientCert.secretName }}
KAFKA_SSL_CERT_FILE: {{ printf "%s/client.crt" (include "event-pipeline.tlsMountPath" .) | quote }}
KAFKA_SSL_KEY_FILE: {{ printf "%s/client.key" (include "event-pipeline.tlsMountPath" .) | quote }}
{{- end }}
{{- end }}
{{- if .Values.otel.endpoint }}
OTEL_EXPORTER_OTLP_ENDPOINT: {{ .Values.otel.endpoint | quote }}
OTEL_TRACES_SAMPLER: {{ .Values.otel.tracesSampler | quote }}
{{- with .Values.otel.tracesSamplerArg }}
OTEL_TRACES_SAMPLER_ARG: {{ . | quote }}
{{- end }}
{{- else }}
OTEL_SDK_DISABLED: "true"
{{- end }}
{{- end -}}

{{/*
The pod spec both Deployments share; call with (dict "root" $ "component" "producer" "port" 8080
"portName" "http" "env" (list of extra env entries as YAML) "lifecycle" (YAML or "")).
*/}}
{{- define "event-pipeline.podSpec" -}}
{{- $root := .root -}}
{{- $values := index $root.Values .component -}}
{{- $kafka := $root.Values.kafka -}}
automountServiceAccountToken: false
enableServiceLinks: false
terminationGracePeriodSeconds: {{ $values.terminationGracePeriodSeconds }}
securityContext:
  {{- toYaml $root.Values.podSecurityContext | nindent 2 }}
{{- with $root.Values.image.pullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
containers:
  - name: {{ .component }}
    image: {{ include "event-pipeline.image" . | quote }}
    imagePullPolicy: {{ $root.Values.image.pullPolicy }}
    ports:
      - name: {{ .portName }}
        containerPort: {{ .port }}
        protocol: TCP
    envFrom:
      - configMapRef:
          name: {{ include "event-pipeline.componentName" . }}
    env:
      - name: POD_NAME
        valueFrom:
          fieldRef:
            fieldPath: metadata.name
      - name: POD_NAMESPACE
        valueFrom:
          fieldRef:
            fieldPath: metadata.namespace
      - name: NODE_NAME
        valueFrom:
          fieldRef:
            fieldPath: spec.nodeName
      - name: OTEL_RESOURCE_ATTRIBUTES
        value: {{ printf "k8s.pod.name=$(POD_NAME),k8s.namespace.name=$(POD_NAMESPACE),k8s.node.name=$(NODE_NAME)%s" (ternary (printf ",%s" $root.Values.otel.resourceAttributes) "" (ne $root.Values.otel.resourceAttributes "")) | quote }}
      {{- if $kafka.sasl.mechanism }}
      - name: KAFKA_SASL_USERNAME
        valueFrom:
          secretKeyRef:
            name: {{ include "event-pipeline.secretName" $root }}
            key: kafka-sasl-username
      - name: KAFKA_SASL_PASSWORD
        valueFrom:
          secretKeyRef:
            name: {{ include "event-pipeline.secretName" $root }}
            key: kafka-sasl-password
      {{- end }}
      {{- with .env }}
      {{- . | nindent 6 }}
      {{- end }}
    livenessProbe:
      httpGet:
        path: /health/live
        port: {{ .portName }}
      periodSeconds: 10
      timeoutSeconds: 3
      failureThreshold: 3
    readinessProbe:
      httpGet:
        path: /health/ready
        port: {{ .portName }}
      periodSeconds: 5
      timeoutSeconds: 3
      failureThreshold: 2
    # Connecting to Kafka retries with backoff; live throughout, so liveness waits for no one.
    startupProbe:
      httpGet:
        path: /health/live
        port: {{ .portName }}
      periodSeconds: 2
      failureThreshold: 30
    {{- with .lifecycle }}
    lifecycle:
      {{- . | nindent 6 }}
    {{- end }}
    resources:
      {{- toYaml $values.resources | nindent 6 }}
    securityContext:
      {{- toYaml $root.Values.securityContext | nindent 6 }}
    volumeMounts:
      - name: tmp
        mountPath: /tmp
      {{- if and $kafka.tls.enabled (or $kafka.tls.ca.secretName $kafka.tls.clientCert.secretName) }}
      - name: kafka-tls
        mountPath: {{ include "event-pipeline.tlsMountPath" $root }}
        readOnly: true
      {{- end }}
volumes:
  - name: tmp
    emptyDir:
      sizeLimit: 64Mi
  {{- if and $kafka.tls.enabled (or $kafka.tls.ca.secretName $kafka.tls.clientCert.secretName) }}
  - name: kafka-tls
    projected:
      defaultMode: 0440
      sources:
        {{- with $kafka.tls.ca.secretName }}
        - secret:
            name: {{ . }}
            items:
              - key: {{ $kafka.tls.ca.key }}
                path: ca.crt
        {{- end }}
        {{- with $kafka.tls.clientCert.secretName }}
        - secret:
            name: {{ . }}
            items:
              - key: {{ $kafka.tls.clientCert.certKey }}
                path: client.crt
              - key: {{ $kafka.tls.clientCert.keyKey }}
                path: client.key
        {{- end }}
  {{- end }}
{{- with $values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $values.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Refusals the schema cannot say: bounds between values. */}}
{{- define "event-pipeline.checks" -}}
{{- $partitions := int .Values.kafka.topicPartitions -}}
{{- $producer := .Values.producer -}}
{{- $producerDrain := add (int $producer.preStopSeconds) (div (add (int $producer.shutdownTimeoutMs) 999) 1000) -}}
{{- if le (int $producer.terminationGracePeriodSeconds) (int $producerDrain) }}
{{- fail (printf "producer.terminationGracePeriodSeconds (%d) must exceed preStopSeconds plus shutdownTimeoutMs (%d s together), or the kubelet kills the producer mid-drain" (int $producer.terminationGracePeriodSeconds) (int $producerDrain)) }}
{{- end }}
{{- $consumer := .Values.consumer -}}
{{- $consumerDrain := div (add (int $consumer.shutdownTimeoutMs) 999) 1000 -}}
{{- if le (int $consumer.terminationGracePeriodSeconds) (int $consumerDrain) }}
{{- fail (printf "consumer.terminationGracePeriodSeconds (%d) must exceed shutdownTimeoutMs (%d s), or the kubelet kills the consumer mid-drain" (int $consumer.terminationGracePeriodSeconds) (int $consumerDrain)) }}
{{- end }}
{{- if and (not .Values.consumer.keda.enabled) (gt (int .Values.consumer.replicas) $partitions) }}
{{- fail (printf "consumer.replicas (%d) exceeds kafka.topicPartitions (%d): the extra members of the group would sit idle" (int .Values.consumer.replicas) $partitions) }}
{{- end }}
{{- if and .Values.consumer.keda.enabled (gt (int .Values.consumer.keda.maxReplicas) $partitions) }}
{{- fail (printf "consumer.keda.maxReplicas (%d) exceeds kafka.topicPartitions (%d): the extra members of the group would sit idle" (int .Values.consumer.keda.maxReplicas) $partitions) }}
{{- end }}
{{- if and $producer.apiKeysInExistingSecret (not .Values.secrets.existingSecret) }}
{{- fail "producer.apiKeysInExistingSecret is set: name the Secret in secrets.existingSecret" }}
{{- end }}
{{- if and $producer.apiKeys .Values.secrets.existingSecret }}
{{- fail "producer.apiKeys would be ignored: with secrets.existingSecret the keys live under api-keys in that Secret (set producer.apiKeysInExistingSecret)" }}
{{- end }}
{{- if and $producer.ingress.enabled (not (or $producer.apiKeys $producer.apiKeysInExistingSecret)) (not $producer.ingress.allowUnauthenticated) }}
{{- fail "producer.ingress.enabled without API keys would open POST /events to anyone: set producer.apiKeys (or producer.apiKeysInExistingSecret), or producer.ingress.allowUnauthenticated=true if that is what you mean" }}
{{- end }}
{{- if and .Values.kafka.sasl.mechanism (not .Values.secrets.existingSecret) (or (not .Values.kafka.sasl.username) (not .Values.kafka.sasl.password)) }}
{{- fail "kafka.sasl.mechanism is set: give kafka.sasl.username and kafka.sasl.password, or secrets.existingSecret" }}
{{- end }}
{{- end -}}
