# syntax=docker/dockerfile:1
# Signalink's container image: the .deb that CPack makes in the build stage, installed on Debian 12
# slim, so the runtime libraries are exactly the package's dependencies.
#   docker build -t signalink .        (BuildKit: the cache mounts keep ccache and npm between builds)
#   docker run -p 8000-8003:8000-8003 -v signalink:/var/lib/signalink signalink          every role, SQLite
#   docker run ... -e DATABASE_URL=postgresql://... -e SECRET_KEY=... signalink gateway  one role
# The bases are pinned by tag (Debian 12, bookworm: its point releases bring security fixes); pin
# them by digest too (debian:12@sha256:...) where the registry can be reached when this file is edited.

FROM debian:12 AS build
ENV DEBIAN_FRONTEND=noninteractive
WORKDIR /src
# The dependency layer is rebuilt only when the list of packages changes. dpkg-dev (dpkg-shlibdeps)
# and file are what CPack uses to compute the package's library dependencies.
COPY scripts/install-deps scripts/install-deps
RUN scripts/install-deps \
    && apt-get install -y -q --no-install-recommends dpkg-dev file \
    && rm -rf /var/lib/apt/lists/*
COPY . .
ENV CCACHE_DIR=/root/.cache/ccache CCACHE_BASEDIR=/src CCACHE_NOHASHDIR=1
RUN --mount=type=cache,target=/root/.cache/ccache \
    --mount=type=cache,target=/root/.npm \
    cmake --preset release \
    && cmake --build --preset release \
    && cd build/release \
    && cpack -G DEB \
    && mkdir /out \
    && cp signalink_*.deb /out/

FROM debian:12-slim
# The package's postinst keeps an existing `signalink` user, so making it here first fixes its uid
# (Kubernetes' runAsUser and volume ownership rely on it) and its data directory's owner.
RUN groupadd --system --gid 10001 signalink \
    && useradd --system --uid 10001 --gid signalink --home-dir /var/lib/signalink \
        --no-create-home --shell /usr/sbin/nologin --comment "Signalink server" signalink \
    && install -d -o signalink -g signalink -m 0750 /var/lib/signalink
# Bind-mounted rather than copied: the .deb does not stay in a layer of the image.
RUN --mount=type=bind,from=build,source=/out,target=/tmp/pkg \
    apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        /tmp/pkg/signalink_*.deb curl ca-certificates \
    && rm -rf /var/lib/apt/lists/*

ENV SIGNALINK_DATA_DIR=/var/lib/signalink
WORKDIR /var/lib/signalink
VOLUME ["/var/lib/signalink"]
# API, gateway, analytics, notifier.
EXPOSE 8000 8001 8002 8003
USER 10001:10001
# `serve` and `api` answer on the API port; a container running one other role sets
# SIGNALINK_HEALTH_PORT to that role's port (docker-compose.yml does).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD curl -fsS -o /dev/null "http://127.0.0.1:${SIGNALINK_HEALTH_PORT:-${API_PORT:-8000}}/health" || exit 1
ENTRYPOINT ["signalink"]
CMD ["serve"]
