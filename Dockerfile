# syntax=docker/dockerfile:1.7
# One image for every sixdeg process (api, workers, scheduler, migrations): the process is chosen by the command,
# e.g. `gunicorn api:create_app()`, `dramatiq actors --queues imports`, `python -m scheduler`, `sixdeg migrate`.
# Not built in CI (no container engine there); kubernetes/README.md says how to build and load it.
#   docker build -t sixdeg:dev .

# --- 1: the browser app (web/dist) ------------------------------------------------------------------------------
FROM node:20.19.5-bookworm-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY web/ ./
RUN npm run build

# --- 2: wheels of sixdeg and every dependency (build tools stay in this stage) ------------------------------------
FROM python:3.11.13-slim-bookworm AS wheels
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml setup.cfg README.md ./
COPY api/ api/
COPY actors/ actors/
COPY pipelines/ pipelines/
COPY scheduler/ scheduler/
COPY migrations/ migrations/
RUN pip wheel --wheel-dir /wheels .

# --- 3: runtime: Python, the wheels installed, pg_dump for backups, tini as PID 1, no compilers -----------------
FROM python:3.11.13-slim-bookworm
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    SIXDEG_DATA_DIR=/var/lib/sixdeg \
    SIXDEG_BACKUP_DIR=/var/lib/sixdeg-backups \
    SIXDEG_WEB_DIR=/app/web/dist
# postgresql-client 15 (Debian 12) for `sixdeg backup`/`restore`: pg_dump's major must be >= the server's.
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client tini \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 sixdeg \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /app --shell /usr/sbin/nologin sixdeg \
    && mkdir -p /app/web /var/lib/sixdeg /var/lib/sixdeg-backups \
    && chown 10001:10001 /var/lib/sixdeg /var/lib/sixdeg-backups
RUN --mount=type=bind,from=wheels,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels sixdeg \
    && (pip uninstall -y pip setuptools wheel >/dev/null 2>&1 || true)
COPY --from=web --chown=0:0 /src/web/dist /app/web/dist
WORKDIR /app
USER 10001:10001
EXPOSE 8000
ENTRYPOINT ["/usr/bin/tini", "--"]
# The same server settings as kubernetes/base/api.yaml: threaded workers (a request waiting on Postgres does not hold
# a whole process; the outbox publisher sends many rows per round) and idle connections kept longer than a proxy's.
CMD ["gunicorn", "--bind=0.0.0.0:8000", "--workers=4", "--worker-class=gthread", "--threads=8", "--keep-alive=75", \
     "--timeout=120", "--graceful-timeout=40", "--worker-tmp-dir=/tmp", "--access-logfile=-", "api:create_app()"]
