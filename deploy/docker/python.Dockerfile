# syntax=docker/dockerfile:1
# One image for every Python process of Liaison; the command picks which:
#   service <requests|tasks|issues|notify>   a subgraph on :8000 (/graphql /healthz /readyz /metrics)
#   worker <requests|tasks|issues|notify>    its arq worker and event consumer
#   relay [<service> ...]                    the outbox relay (default: all four)
# Every process also serves /metrics, /healthz and /readyz on LIAISON_METRICS_PORT (9100).
# With LIAISON_HOST=0.0.0.0 every process refuses to start with a development secret
# (LIAISON_JWT_SECRET, LIAISON_GATEWAY_SECRET, LIAISON_SECRETS_KEY): see deploy/README.md.
# Build from the repository root:
#   docker build -f deploy/docker/python.Dockerfile -t liaison:TAG .
# Base images are pinned to exact releases; pin their digests too in the release pipeline
# (no registry is reachable from where these files are written and tested).

FROM python:3.11.14-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# The lock of pyproject's dependencies without extras (`./liaison lock`): every package,
# transitive ones too, pinned with its hashes. Its wheels are fetched (and built here, where
# the build tools are, should a release have none for this platform) with every hash checked;
# the project's own code is copied as source into the final stage, with its SQL and SDL files.
COPY requirements/image.txt ./requirements/
RUN pip wheel --require-hashes --no-deps --wheel-dir /wheels -r requirements/image.txt

FROM python:3.11.14-slim-bookworm AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    LIAISON_HOST=0.0.0.0 \
    LIAISON_METRICS_PORT=9100 \
    LIAISON_LOG_FORMAT=json
RUN groupadd --system --gid 10001 liaison \
    && useradd --system --uid 10001 --gid liaison --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin liaison
COPY --from=build /wheels /wheels
# Exactly the locked wheels, nothing from an index.
RUN pip install --no-index --no-deps --find-links=/wheels /wheels/*.whl && rm -rf /wheels
WORKDIR /app
COPY shared ./shared
COPY services ./services
USER 10001:10001
EXPOSE 8000 9100
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-m", "shared.serve", "healthcheck"]
# SIGTERM reaches python directly (exec form): subgraphs drain, workers hand back jobs.
STOPSIGNAL SIGTERM
ENTRYPOINT ["python", "-m", "shared.serve"]
CMD ["service", "requests"]
