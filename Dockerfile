# trading-ai runtime image: slim Python 3.11, CPU-only torch, non-root, the scan service by default.
#   docker build -t trading-ai .
#   docker run --env-file .env -v trading-ai-data:/var/lib/trading-ai -p 127.0.0.1:8080:8080 trading-ai
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
# Same path in both stages: the editable install and the alembic migrations resolve against it.
WORKDIR /opt/trading-ai
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# CPU wheels of torch first (the default index would pull the CUDA build, ~2 GB more).
COPY requirements.lock ./
RUN grep -E '^torch==' requirements.lock > /tmp/torch.txt \
 && pip install --index-url https://download.pytorch.org/whl/cpu -r /tmp/torch.txt
COPY pyproject.toml ./
COPY domain domain
COPY ports ports
COPY services services
COPY adapters adapters
COPY training training
COPY plugins plugins
COPY composition composition
COPY migrations migrations
COPY alembic.ini ./
RUN pip install -c requirements.lock -e '.[pg]'

FROM python:3.11-slim
RUN groupadd --system trading-ai && useradd --system --gid trading-ai --home /var/lib/trading-ai trading-ai \
 && mkdir -p /var/lib/trading-ai /var/log/trading-ai && chown trading-ai:trading-ai /var/lib/trading-ai /var/log/trading-ai
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/trading-ai /opt/trading-ai
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DATABASE_URL=sqlite:////var/lib/trading-ai/trading_ai.sqlite3 \
    DATA_DIR=/var/lib/trading-ai/data \
    LOG_FILE=/var/log/trading-ai/trading-ai.jsonl \
    LOG_FORMAT=json
WORKDIR /opt/trading-ai
USER trading-ai
# Inside the container the health endpoint must listen beyond loopback; publish it on the host's
# 127.0.0.1 only (see the run line above).
ENV HEALTH_HOST=0.0.0.0 HEALTH_PORT=8080
EXPOSE 8080
HEALTHCHECK --interval=60s --timeout=5s --start-period=120s \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status == 200 else 1)"
STOPSIGNAL SIGTERM
ENTRYPOINT ["trading-ai"]
CMD ["run", "--mode", "dryrun"]
