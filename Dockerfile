# The bridge in a slim image: non-root, data in a volume, health-checked.
#   docker build -t kraken-bridge .
#   docker run -d -p 8765:8765 -v kraken-bridge-data:/data \
#     -e KRAKEN_BRIDGE_ACCOUNT_NUMBER=A-1234ABCD -e KRAKEN_BRIDGE_API_KEY_FILE=/run/secrets/key ...
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY kraken_core ./kraken_core
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin bridge \
    && mkdir -p /data && chown bridge /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER bridge
ENV PYTHONUNBUFFERED=1 \
    KRAKEN_BRIDGE_HOST=0.0.0.0 \
    KRAKEN_BRIDGE_PORT=8765 \
    KRAKEN_BRIDGE_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8765
HEALTHCHECK --interval=60s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8765/api/v1/health', timeout=4)"]
ENTRYPOINT ["kraken-bridge"]
CMD ["serve"]
