# syntax=docker/dockerfile:1
# Both services' images, one target each, built from the repository root as compose does:
#   docker build --target producer -t event-pipeline-producer .
#   docker build --target consumer -t event-pipeline-consumer .
# They share the build stage, so the second build reuses the first one's compiled code. The
# final stages differ in workspace, port and health check, the schemas (producer) and `dlq`
# (consumer). `npm run test:images` builds and runs both (docs/testing.md).
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

# TypeScript compiled with the dev dependencies, every workspace at once; only dist/ leaves.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.base.json ./
COPY common/package.json common/
COPY observability/package.json observability/
COPY producer/package.json producer/
COPY consumer/package.json consumer/
# No install scripts run, here or below: no package these stages install needs its own
# (docs/kubernetes.md says which packages have one and why none is needed).
RUN npm ci --ignore-scripts --no-audit --no-fund
# KafkaJS's record encoding and decoding fixes (patches/, docs/benchmarks.md#kafkajs-patched),
# which npm ci's postinstall applies outside the images. The final stages take the patched package
# from here.
COPY patches patches
RUN npx patch-package --error-on-fail
COPY common common
COPY observability observability
COPY producer producer
COPY consumer consumer
RUN npx tsc -b observability producer consumer

# ------------------------------------------------------------------ the producer: events API on :8080
FROM ${NODE_IMAGE} AS producer
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY common/package.json common/
COPY observability/package.json observability/
COPY producer/package.json producer/
# Production dependencies of this workspace only, placed where the lock file puts them (some
# nest under producer/node_modules, so this stage installs them rather than copying one folder).
RUN npm ci --omit=dev --ignore-scripts --workspace producer --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/node_modules/kafkajs node_modules/kafkajs
COPY --from=build /app/common/dist common/dist
COPY --from=build /app/observability/dist observability/dist
COPY --from=build /app/producer/dist producer/dist
# The event schemas; SCHEMAS_DIR defaults to /app/schemas.
COPY schemas schemas
WORKDIR /app/producer
# The image's `node` user, by number, so that a runtime can tell it is not root.
USER 1000:1000
EXPOSE 8080
# Liveness, by Node itself (the slim image has no curl or wget). Compose checks readiness instead.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT || 8080}/health/live`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Node is PID 1 under a plain `docker run` and handles SIGTERM and SIGINT itself (it drains);
# compose adds an init (`init: true`). The telemetry bootstrap is preloaded, configured by the
# OTEL_* variables (OTEL_SDK_DISABLED=true turns it off). KafkaJS schedules negative timeouts on
# Node 24 (kafkajs#1751); that warning is noise.
CMD ["node", "--require", "@event-pipeline/observability/register", "--disable-warning=TimeoutNegativeWarning", "dist/main.js"]

# ------------------------------------------------------------------ the consumer: worker, health and metrics on :9464
FROM ${NODE_IMAGE} AS consumer
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY common/package.json common/
COPY observability/package.json observability/
COPY consumer/package.json consumer/
RUN npm ci --omit=dev --ignore-scripts --workspace consumer --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/node_modules/kafkajs node_modules/kafkajs
COPY --from=build /app/common/dist common/dist
COPY --from=build /app/observability/dist observability/dist
COPY --from=build /app/consumer/dist consumer/dist
# `docker compose run --rm consumer dlq list`: the dead-letter command, on the PATH.
COPY consumer/bin consumer/bin
RUN ln -s /app/consumer/bin/dlq.js /usr/local/bin/dlq
WORKDIR /app/consumer
USER 1000:1000
EXPOSE 9464
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.METRICS_PORT || 9464}/health/live`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "--require", "@event-pipeline/observability/register", "--disable-warning=TimeoutNegativeWarning", "dist/main.js"]
