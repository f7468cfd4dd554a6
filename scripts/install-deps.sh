#!/usr/bin/env bash
# Installs every Debian 12 package that building, running and testing Mailstead need
# (`--build-only`: only what building needs). Idempotent and non-interactive; run as root
# (or it re-runs itself with sudo).
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libboost1.81-dev libboost-json1.81-dev
  libssl-dev liblmdb-dev lmdb-utils libsodium-dev libspdlog-dev libfmt-dev
  libtoml11-dev libc-ares-dev libhiredis-dev libidn2-dev libunistring-dev zlib1g-dev libopendkim-dev
  libspf2-dev libopendmarc-dev publicsuffix
  libre2-dev libgumbo-dev
  libgtest-dev googletest
  python3 openssl curl swaks isync redis-server sieve-connect dovecot-imapd
  dnsmasq-base postfix python3-dkim python3-srs python3-aiosmtpd opendkim
  spamassassin spamd spamc
  python3-jsonschema python3-prometheus-client
  strace
  nodejs npm chromium firefox-esr
  clang libclang-rt-14-dev
  docker.io docker-compose debootstrap
)

# --build-only: what compiling the programs needs and nothing else (the container image's
# build stage): the compiler, the build tools and every library's -dev package. The image is
# built with -DMAILSTEAD_WEB_UI=OFF for now (docs/web-ui.md), so no nodejs or npm there.
if [ "${1:-}" = "--build-only" ]; then
  selected=()
  for p in "${packages[@]}"; do
    case "$p" in
      libgtest-dev|libclang-rt-*) ;;  # tests and fuzzing only
      *-dev|build-essential|cmake|ninja-build|ccache|pkg-config) selected+=("$p") ;;
    esac
  done
  packages=("${selected[@]}")
fi

if [ "$(id -u)" -ne 0 ]; then
  exec sudo -E "$0" "$@"
fi

missing=()
for p in "${packages[@]}"; do
  # An npm that came with another nodejs build (NodeSource's bundles it) serves as well; the
  # Debian npm package would conflict with that nodejs.
  if [ "$p" = npm ] && command -v npm >/dev/null; then continue; fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
