# syntax=docker/dockerfile:1
# The strikeflow app image: the feed, the flow, the API and the one-shot jobs of
# docker-compose.yml all run from it, each with its own command.
#
# Debian, not Alpine: bytewax's wheels are manylinux_2_31 (glibc >= 2.31; bookworm has 2.36).
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# The uv the Makefile pins, so the lock file is read the same way everywhere.
RUN pip install --no-cache-dir uv==0.13.9

WORKDIR /app

# Dependencies first: this layer is rebuilt only when the lock file changes, not the code.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project

COPY . .
RUN uv sync --frozen --no-dev

# Unprivileged; the named volumes mounted at /recovery and /data start out owned by it.
RUN useradd --system --uid 10001 --create-home strikeflow \
    && mkdir -p /recovery /data \
    && chown strikeflow:strikeflow /recovery /data
USER strikeflow

# 8000: the API (strikeflow serve); 3030: Bytewax's /metrics (BYTEWAX_DATAFLOW_API_ENABLED).
EXPOSE 8000 3030
CMD ["strikeflow", "--help"]
