#!/usr/bin/env bash
# Install what blaster needs on Debian 12, from Debian's packages only.
# Idempotent: installs only what is missing, and does nothing (no network)
# when everything is there (scripts/wolfssl.sh likewise, unless
# BLASTER_NO_WOLFSSL=1). Called by `make` when the build stamp is missing.
set -euo pipefail

BUILD_PKGS="gcc make pkg-config liburing-dev libjansson-dev libyaml-dev libwolfssl-dev"
TEST_PKGS="libcmocka-dev python3-pytest nginx-light wrk nghttp2-client curl procps openssl"
EXTRA_PKGS="${BLASTER_EXTRA_PKGS:-}"

missing=()
for p in $BUILD_PKGS $TEST_PKGS $EXTRA_PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
    echo "deps.sh: installing ${missing[*]}"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { echo "deps.sh: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
        SUDO="sudo"
    fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

    # Debian's nginx package starts a system nginx on port 80; the tests run
    # their own on free loopback ports, so stop the system one if it started.
    if printf '%s\n' "${missing[@]}" | grep -q '^nginx'; then
        (command -v systemctl >/dev/null && $SUDO systemctl stop nginx 2>/dev/null) || \
            (test -f /run/nginx.pid && $SUDO kill "$(cat /run/nginx.pid)" 2>/dev/null) || true
    fi
fi

# wolfSSL from Debian's source package with AES-NI, into deps/wolfssl (idempotent).
[ "${BLASTER_NO_WOLFSSL:-0}" = 1 ] || "$(dirname "$0")/wolfssl.sh"
