# One image for every boundbox process; docker-compose.yml picks the subcommand
# (`api`, `relay`, `consume NAME`), since the entrypoint is the `boundbox` CLI.
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Build from a scratch directory and delete it afterwards, so the running process
# imports only the installed package. No dev extras: production has no dev database.
WORKDIR /tmp/boundbox-src
COPY pyproject.toml README.md ./
COPY boundbox/ boundbox/
COPY devdb/ devdb/
COPY outbox/ outbox/
COPY relay/ relay/
COPY services/ services/
RUN pip install --no-cache-dir . \
    && rm -rf /tmp/boundbox-src

RUN groupadd --system --gid 10001 boundbox \
    && useradd --system --uid 10001 --gid boundbox --home-dir /app \
       --shell /usr/sbin/nologin boundbox \
    && mkdir /app \
    && chown boundbox:boundbox /app
WORKDIR /app
USER boundbox:boundbox

# api, relay /healthz+/metrics, consumer /healthz+/metrics
EXPOSE 8000 9101 9102

ENTRYPOINT ["boundbox"]
CMD ["--help"]
