# syntax=docker/dockerfile:1.7
# One image for every Yilin process; the command picks the service:
#   docker run IMAGE yilin serve tickets      (default: the gateway)
#   docker run IMAGE yilin migrate
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- builder: compile every wheel once, with the toolchain kept out of the runtime
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# Compilers only for dependencies without a binary wheel; they never reach the runtime.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential libpq-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependency wheels first, from pyproject.toml alone, so a code change reuses this layer.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
 && pip wheel --wheel-dir /wheels -r requirements.txt
COPY README.md ./
COPY yilin ./yilin
COPY services ./services
COPY yilinctl ./yilinctl
RUN pip wheel --no-deps --wheel-dir /wheels .

# --- runtime: interpreter, wheels installed, no compilers, no pip cache
FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    YILIN_LOG_FORMAT=json
# tini as PID 1: forwards SIGTERM to `yilin serve` (graceful stop) and reaps children.
# fonts-wqy-microhei: the hours service prints Chinese names on certificates.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini fonts-wqy-microhei \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 yilin \
 && useradd --system --uid 10001 --gid yilin --home-dir /app --shell /usr/sbin/nologin yilin
# Bind-mount the wheels instead of copying them: they never become an image layer.
# --no-index: the runtime installs exactly what the builder resolved, nothing else.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels /wheels/*.whl \
 && yilin --help > /dev/null
WORKDIR /app
# `yilin serve` runs nameko with deploy/config.yml relative to the working directory.
COPY --chown=root:root deploy/config.yml deploy/config.yml
COPY --chown=root:root --chmod=0755 deploy/docker/healthcheck.py /usr/local/bin/yilin-healthcheck
# Writable only where SQLite files may land in dev; the code stays root-owned.
RUN mkdir -p /app/var && chown yilin:yilin /app/var
USER 10001:10001
EXPOSE 8000 9100 9101 9102 9103 9104
# Liveness only: /healthz answers while the process runs, without RabbitMQ or PostgreSQL.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["yilin-healthcheck", "/healthz"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["tini", "--"]
CMD ["yilin", "serve", "gateway"]
