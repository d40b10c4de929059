# A slim image running `filmnight serve`.
FROM python:3.11-slim AS build
COPY --from=ghcr.io/astral-sh/uv:0.9 /uv /usr/local/bin/uv
WORKDIR /app
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY server ./server
COPY realtime ./realtime
COPY scraper ./scraper
COPY migrations ./migrations
COPY web-client ./web-client
COPY litestar.toml scrapy.cfg ./
RUN uv sync --frozen --no-dev

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 filmnight
WORKDIR /app
COPY --from=build --chown=filmnight:filmnight /app /app
ENV PATH="/app/.venv/bin:$PATH" \
    FILMNIGHT_HOST=0.0.0.0 \
    FILMNIGHT_DATA_DIR=/data \
    FILMNIGHT_DATABASE_URL=sqlite+aiosqlite:////data/filmnight.db \
    FILMNIGHT_MASTER_KEY_FILE=/data/master.key
RUN mkdir /data && chown filmnight:filmnight /data
VOLUME ["/data"]
USER filmnight
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
CMD ["filmnight", "serve"]
