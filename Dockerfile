# One image for every Outcome Chain process; docker-compose.yml and deploy/k8s choose
# the command (web, consumer, relay, migrate, topics) per container.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    OUTCOMES_VAR_DIR=/app/var

# tini as PID 1 forwards SIGTERM and reaps children: Python as PID 1 would ignore the
# stop signal unless it installed its own handler.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# Only what the package needs (no .venv, .git or local var/ from the build context).
COPY pyproject.toml README* ./
COPY shared ./shared
COPY services ./services
RUN pip install .
COPY deploy ./deploy

# A numeric user so Kubernetes' runAsNonRoot can verify it without a passwd lookup.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home app \
    && mkdir -p var \
    && chown app:app var
USER 10001:10001

EXPOSE 8001 8002 8003
ENTRYPOINT ["tini", "--"]
CMD ["outcomes", "--help"]
