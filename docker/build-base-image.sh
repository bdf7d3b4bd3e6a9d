#!/bin/sh
# Build the local base image poolbench-base:bookworm from Debian packages.
#
# For machines that can reach a Debian mirror but no image registry: the image
# serves as BASE_IMAGE (python3 + venv) and as REDIS_IMAGE (redis-server).
#     docker/build-base-image.sh [TAG]     # needs root, debootstrap, docker
# Skips the work when the tag already exists (FORCE=1 rebuilds).
set -eu

TAG=${1:-poolbench-base:bookworm}
SUITE=${SUITE:-bookworm}
# The mirror apt already uses, so debootstrap goes where the network allows.
MIRROR=${MIRROR:-$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)\/*$/\1/p' \
    /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}

if [ -z "${FORCE:-}" ] && docker image inspect "$TAG" >/dev/null 2>&1; then
    echo "build-base-image: $TAG already exists"
    exit 0
fi

ROOTFS=$(mktemp -d /tmp/poolbench-rootfs.XXXXXX)
trap 'rm -rf "$ROOTFS"' EXIT

echo "build-base-image: debootstrap $SUITE from $MIRROR"
debootstrap --variant=minbase \
    --include=python3,python3-venv,python3-pip,redis-server,ca-certificates \
    "$SUITE" "$ROOTFS" "$MIRROR" >"$ROOTFS.log" 2>&1 ||
    { tail -n 30 "$ROOTFS.log" >&2; exit 1; }
rm -f "$ROOTFS.log"

# Keep the image small: apt lists and package caches are not needed at run time.
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin \
    "$ROOTFS"/var/cache/apt/archives/*.deb

tar -C "$ROOTFS" -c . | docker import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'ENV LANG=C.UTF-8' - "$TAG" >/dev/null
echo "build-base-image: built $TAG"
