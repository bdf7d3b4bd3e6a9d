# One image for the producer, the workers and flower.
#
# BASE_IMAGE needs python3 (>= 3.11, for tomllib) with the venv module. Where no
# image registry is reachable, build a local Debian one first and pass it:
#     docker/build-base-image.sh
#     docker build --build-arg BASE_IMAGE=poolbench-base:bookworm -t poolbench .
ARG BASE_IMAGE=python:3.12-slim

# ---- build stage: a virtual environment with poolbench and its dependencies.
FROM ${BASE_IMAGE} AS build
# An imported base image has no ENV at all: spell the whole PATH out.
ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
ARG EXTRAS=monitor,plot

# Optional extra CA certificates (docker/certs/*.crt, git-ignored) for a
# TLS-inspecting proxy between the build and PyPI. pip trusts them on top of
# its own bundle, in this stage only; verification stays on.
COPY docker/certs/ /tmp/certs/
COPY docker/pyproject-deps.py pyproject.toml /tmp/
RUN python3 -m venv /opt/venv \
 && if ls /tmp/certs/*.crt >/dev/null 2>&1; then \
        cat "$(python -c 'from pip._vendor import certifi; print(certifi.where())')" \
            /tmp/certs/*.crt >/tmp/ca-bundle.pem; \
    fi \
 && if [ -f /tmp/ca-bundle.pem ]; then export PIP_CERT=/tmp/ca-bundle.pem; fi \
 && python /tmp/pyproject-deps.py /tmp/pyproject.toml "$EXTRAS" >/tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt

# The project itself: this layer is redone on code changes, the one above is not.
COPY . /src
RUN if [ -f /tmp/ca-bundle.pem ]; then export PIP_CERT=/tmp/ca-bundle.pem; fi \
 && pip install "/src[$EXTRAS]"

# ---- final stage: the base image, the venv, two helper scripts, a plain user.
FROM ${BASE_IMAGE}
ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
# Fixed ids, clear of the base's system range: files the producer writes to a
# bind-mounted folder show up on the host as 10001:10001.
RUN groupadd --gid 10001 app \
 && useradd --uid 10001 --gid app --create-home --shell /usr/sbin/nologin app
COPY --from=build /opt/venv /opt/venv
COPY docker/worker-healthcheck.sh /usr/local/bin/worker-healthcheck
COPY docker/run-as-results-owner.py /usr/local/bin/run-as-results-owner
COPY docker/redis-secret.py /usr/local/bin/redis-secret
# The secrets volume's mount point: a new named volume takes this owner and mode.
RUN mkdir -p /run/poolbench && chown app:app /run/poolbench && chmod 0700 /run/poolbench
USER app
WORKDIR /home/app
CMD ["python", "-m", "producer", "--help"]
