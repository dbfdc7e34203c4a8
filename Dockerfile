# syntax=docker/dockerfile:1
# Newsdesk: multi-stage build, pinned dependencies, non-root, SQLite and sources on /data.

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /venv
COPY constraints.txt pyproject.toml README.md ./
COPY bot ./bot
RUN /venv/bin/pip install -c constraints.txt .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PATH=/venv/bin:$PATH
RUN useradd --system --uid 10001 --home-dir /data newsdesk \
    && mkdir -p /data /config && chown newsdesk /data
COPY --from=build /venv /venv
WORKDIR /data
VOLUME /data
USER newsdesk
ENTRYPOINT ["newsdesk"]
CMD ["run", "--config", "/config/config.yaml"]
