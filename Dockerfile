# syntax=docker/dockerfile:1
# One image recipe for both services; SERVICE picks which, HEALTH_PORT where it answers.
#   docker build --build-arg SERVICE=producer --build-arg HEALTH_PORT=8080 -t event-pipeline-producer .
#   docker build --build-arg SERVICE=consumer --build-arg HEALTH_PORT=9464 -t event-pipeline-consumer .
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

FROM ${NODE_IMAGE} AS build
ARG SERVICE
WORKDIR /app
COPY package.json package-lock.json tsconfig.base.json ./
COPY common/package.json common/
COPY observability/package.json observability/
COPY producer/package.json producer/
COPY consumer/package.json consumer/
RUN npm ci --no-audit --no-fund
COPY common common
COPY observability observability
COPY ${SERVICE} ${SERVICE}
RUN npx tsc -b observability ${SERVICE}

FROM ${NODE_IMAGE} AS production-deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY common/package.json common/
COPY observability/package.json observability/
COPY producer/package.json producer/
COPY consumer/package.json consumer/
RUN npm ci --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE}
ARG SERVICE
ARG HEALTH_PORT
ENV NODE_ENV=production HEALTH_PORT=${HEALTH_PORT}
WORKDIR /app
COPY --from=production-deps /app/node_modules node_modules
COPY package.json ./
COPY common/package.json common/
COPY --from=build /app/common/dist common/dist
COPY observability/package.json observability/
COPY --from=build /app/observability/dist observability/dist
COPY ${SERVICE}/package.json ${SERVICE}/
COPY --from=build /app/${SERVICE}/dist ${SERVICE}/dist
# The producer's event schemas (SCHEMAS_DIR defaults to /app/schemas); small, so both images carry them.
COPY schemas schemas
WORKDIR /app/${SERVICE}
USER node
EXPOSE ${HEALTH_PORT}
# Node itself checks liveness: the slim image has no curl or wget.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.HEALTH_PORT + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The telemetry bootstrap is preloaded (configured by OTEL_* variables; OTEL_SDK_DISABLED=true
# turns it off). KafkaJS schedules negative timeouts on Node 24 (kafkajs#1751); the warning is noise.
CMD ["node", "--require", "@event-pipeline/observability/register", "--disable-warning=TimeoutNegativeWarning", "dist/main.js"]
