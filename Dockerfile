# syntax=docker/dockerfile:1
#
# voicecart production image: `docker build -t voicecart .` (see "Deploying" in README.md).
#
# Two stages. The builder installs voicecart and its runtime dependencies into a virtualenv
# (/opt/venv) as a normal, non-editable wheel: no [dev] extras, no test models
# (requirements/test-models.txt), no tests/ or bench/. The runtime stage is the same Python
# base image plus that virtualenv: every dependency ships a manylinux wheel that bundles its
# native libraries (psycopg[binary] bundles libpq; vosk, pocketsphinx, soxr, numpy, scipy and
# scikit-learn theirs), and what they link against from the system (libc, libstdc++, libgcc_s,
# zlib) is already in the slim image, so no Debian package is installed.
#
# Secrets (VOICECART_SECRET_KEY, VOICECART_OAUTH_CLIENT_SECRET, the database password) are
# never baked in: they come from the environment at `docker run` / compose time.

ARG PYTHON_IMAGE=python:3.11-slim

# --------------------------------------------------------------------------- builder
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_INPUT=1 \
    PIP_ROOT_USER_ACTION=ignore

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src

# The runtime dependencies first, read from pyproject.toml, so that this (slow) layer is
# rebuilt only when pyproject.toml changes, not on every code change.
COPY pyproject.toml ./
RUN --mount=type=cache,target=/root/.cache/pip \
    python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/runtime-requirements.txt \
 && pip install -r /tmp/runtime-requirements.txt

# Then voicecart itself, built as a wheel (package data from [tool.setuptools.package-data])
# and installed without touching the dependencies again. .dockerignore keeps tests/, bench/,
# docs/, requirements/, .venv and instance/ out of this COPY.
COPY . .
RUN --mount=type=cache,target=/root/.cache/pip \
    pip wheel --no-deps --wheel-dir /tmp/dist . \
 && pip install --no-deps /tmp/dist/voicecart-*.whl \
 && pip check \
 && voicecart --version

# --------------------------------------------------------------------------- runtime
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="voicecart" \
      org.opencontainers.image.description="Voice-commerce backend: Alexa skill endpoint, web shop and JSON API"

# A dedicated user with a fixed UID/GID (10001), so a bind-mounted /data can be chowned to it.
RUN groupadd --gid 10001 voicecart \
 && useradd --uid 10001 --gid voicecart --no-create-home --home-dir /data \
        --shell /usr/sbin/nologin voicecart \
 && mkdir -p /data \
 && chown voicecart:voicecart /data \
 && chmod 0750 /data

COPY --from=builder /opt/venv /opt/venv

# /data is the instance folder: the embedded SQLite database when no VOICECART_DATABASE_URL is
# given, the generated secret key when no VOICECART_SECRET_KEY is given, the catalogue index
# (index/), the trained parser (nlu/) and downloaded Vosk models (models/).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VOICECART_INSTANCE_DIR=/data \
    VOICECART_HOST=0.0.0.0 \
    VOICECART_PORT=8000

WORKDIR /data
VOLUME ["/data"]
USER 10001:10001
EXPOSE 8000

# /healthz is 200 when this worker can write to the database, else 503 (urlopen raises, so
# the check exits 1). No curl in the slim image: Python's urllib, without any proxy. Before
# gunicorn listens, a first start trains the local parser into /data/nlu (10-60 s), hence the
# long start period; later starts find it trained.
HEALTHCHECK --interval=30s --timeout=5s --start-period=180s --retries=3 \
    CMD ["/opt/venv/bin/python", "-c", "import os, urllib.request as u; u.build_opener(u.ProxyHandler({})).open('http://127.0.0.1:%s/healthz' % os.environ.get('VOICECART_PORT', '8000'), timeout=4)"]

# `voicecart serve` applies pending Alembic migrations, readies the parser, then runs gunicorn
# (VOICECART_WORKERS workers). It stops gracefully on SIGTERM.
CMD ["voicecart", "serve"]
