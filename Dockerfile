# The ivr server: `docker build -t ivr .`, or `docker compose up --build` (see compose.yaml).
# It runs `ivr serve` on the call flows and recordings in /srv/ivr (the bundled demo unless
# you mount your own), with the embedded Redis in /srv/ivr/.ivr when REDIS_URL is unset.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Graphviz draws the wallboard's flow diagrams (without it the page shows Mermaid text).
RUN apt-get update \
    && apt-get install -y --no-install-recommends graphviz \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /srv/ivr

# The package first: editing call flows or recordings does not reinstall it.
COPY pyproject.toml README.md wsgi.py ./
COPY ivr ./ivr
RUN pip install . && rm -rf build ./*.egg-info

COPY callflows ./callflows
COPY recordings ./recordings

RUN useradd --system --home-dir /srv/ivr --shell /usr/sbin/nologin ivr \
    && mkdir -p /srv/ivr/.ivr \
    && chown ivr:ivr /srv/ivr/.ivr
USER ivr

ENV IVR_DATA_DIR=/srv/ivr/.ivr \
    IVR_CALLFLOWS=/srv/ivr/callflows \
    IVR_RECORDINGS=/srv/ivr/recordings
VOLUME ["/srv/ivr/.ivr"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]

# Every interface of the container; publish the port to loopback or to your TLS proxy.
CMD ["ivr", "serve", "--host", "0.0.0.0", "--port", "8000"]
