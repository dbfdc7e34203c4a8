# syntax=docker/dockerfile:1
# Newsdesk: multi-stage build with pinned dependencies; runs as a non-root user; SQLite and the
# article sources live on the /data volume; the config is mounted read-only at /config.

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /venv
COPY constraints.txt pyproject.toml README.md ./
COPY bot ./bot
# constraints.txt pins every package, tzdata (IANA time zones for cron) included.
RUN /venv/bin/pip install -c constraints.txt .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PATH=/venv/bin:$PATH
# git (and the CA certificates its https transport checks servers with) for git sources;
# nothing else of git's (no git-lfs, no ssh client): Newsdesk fetches over https and file:// only.
RUN apt-get update \
    && apt-get install --yes --no-install-recommends git ca-certificates \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin newsdesk \
    && mkdir -p /data/news /config \
    && chown -R newsdesk /data
COPY --from=build /venv /venv
COPY config/docker.yaml /config/config.yaml
WORKDIR /data
VOLUME /data
USER newsdesk
EXPOSE 8080
# SIGTERM (docker stop) ends newsdesk cleanly well within Docker's 10 s grace period.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["newsdesk", "health", "--config", "/config/config.yaml"]
ENTRYPOINT ["newsdesk"]
CMD ["run", "--config", "/config/config.yaml"]
