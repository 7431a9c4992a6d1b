# One image for every Outcome Chain process; docker-compose.yml and deploy/k8s choose
# the command (web, consumer, relay, migrate, topics) per container.
#
# Two stages: the first builds the wheel from the sources; the second installs the locked
# runtime dependencies (hash-checked, no dev or test extras) and then that wheel alone, so
# the image runs the built package, never the source tree (tests/unit/test_packaging.py
# checks the wheel holds every template and page; tests/deploy/test_dockerfile.py this file).

FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml ./
COPY shared ./shared
COPY ops ./ops
COPY services ./services
RUN pip wheel --no-deps --wheel-dir /wheels .


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

# Exactly the versions CI tested (requirements/runtime.txt, `make lock`), each checked
# against its hash; then the wheel without resolving anything more.
COPY requirements/runtime.txt /tmp/runtime.txt
RUN pip install --require-hashes -r /tmp/runtime.txt \
    && rm /tmp/runtime.txt
COPY --from=build /wheels /tmp/wheels
RUN pip install --no-deps /tmp/wheels/outcome_chain-*.whl \
    && rm -rf /tmp/wheels

WORKDIR /app
# gunicorn's settings file, which every web command names (`-c deploy/gunicorn.conf.py`).
COPY deploy/gunicorn.conf.py ./deploy/gunicorn.conf.py

# A numeric user so Kubernetes' runAsNonRoot can verify it without a passwd lookup.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home app \
    && mkdir -p var \
    && chown app:app var
USER 10001:10001

EXPOSE 8001 8002 8003
ENTRYPOINT ["tini", "--"]
CMD ["outcomes", "--help"]
