#!/bin/bash
# Makes the `debian:bookworm` base image from Debian's archive, for a host that cannot pull
# it from a registry: `debootstrap --variant=minbase bookworm`, then `docker import`. The
# compose file and Dockerfiles stay the same as on a host that pulls the official image.
# Usage (as root): deploy/make-base-image.sh [MIRROR]
#   MIRROR: a Debian archive URL; default: the first one this host's apt uses, else
#   http://deb.debian.org/debian. Does nothing when the image exists already.
set -euo pipefail
tag=debian:bookworm
if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "make-base-image: $tag exists"
  exit 0
fi
mirror=${1:-}
if [ -z "$mirror" ]; then
  mirror=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
    grep -oE 'https?://[^ ]+/debian/?( |$)' | head -1 | tr -d ' ' || true)
  mirror=${mirror:-http://deb.debian.org/debian}
fi
security=${mirror%/}-security
rootfs=$(mktemp -d /tmp/mailstead-bookworm.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
echo "make-base-image: debootstrap bookworm from $mirror"
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 ||
  { tail -20 "$rootfs.log"; rm -f "$rootfs.log"; exit 1; }
rm -f "$rootfs.log" "$rootfs/etc/apt/sources.list"
cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
tar -C "$rootfs" -c . | docker import --change 'CMD ["bash"]' - "$tag" >/dev/null
echo "make-base-image: made $tag"
