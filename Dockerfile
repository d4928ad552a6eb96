# syntax=docker/dockerfile:1.7
# One image for every Yilin process; the command picks the service:
#   docker run IMAGE yilin serve tickets      (default: the gateway)
#   docker run IMAGE yilin migrate
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- builder: the runtime venv, exactly as uv.lock pins it, with the toolchain kept out of the runtime
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_PROJECT_ENVIRONMENT=/opt/yilin \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1
# Compilers only for dependencies without a binary wheel; they never reach the runtime.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential libpq-dev \
 && rm -rf /var/lib/apt/lists/* \
 && pip install uv==0.13.9
WORKDIR /src
# Dependencies first, from the lock alone, so a code change reuses this layer. --frozen: the
# lock as committed, never re-resolved; no groups: the runtime set only (no test tools).
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-install-project --no-editable
COPY README.md ./
COPY yilin ./yilin
COPY services ./services
COPY yilinctl ./yilinctl
RUN uv sync --frozen --no-editable

# --- runtime: interpreter and the locked venv, no compilers, no pip cache, no system fonts
# (certificates use the Noto Sans CJK font that comes with the venv)
FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/yilin/bin:$PATH \
    YILIN_LOG_FORMAT=json
# tini as PID 1: forwards SIGTERM to `yilin serve` (graceful stop) and reaps children.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 yilin \
 && useradd --system --uid 10001 --gid yilin --home-dir /app --shell /usr/sbin/nologin yilin
# The same path in both stages: the venv's scripts point at /opt/yilin/bin/python.
COPY --from=builder /opt/yilin /opt/yilin
RUN yilin --help > /dev/null
WORKDIR /app
# `yilin serve` runs nameko with deploy/config.yml relative to the working directory.
COPY --chown=root:root deploy/config.yml deploy/config.yml
COPY --chown=root:root --chmod=0755 deploy/docker/healthcheck.py /usr/local/bin/yilin-healthcheck
# Writable only where SQLite files may land in dev; the code stays root-owned.
RUN mkdir -p /app/var && chown yilin:yilin /app/var
USER 10001:10001
EXPOSE 8000 9100 9101 9102 9103 9104
# Liveness only: /livez answers while the process runs, without RabbitMQ or PostgreSQL.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["yilin-healthcheck", "/livez"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["tini", "--"]
CMD ["yilin", "serve", "gateway"]
