#!/usr/bin/env bash
# Build wolfSSL for blaster from Debian's own source package, with AES-NI.
#
# Debian's binary libwolfssl is built without AES-NI (AES-128-GCM ~195 MB/s);
# the same source package configured with --enable-aesni --enable-intelasm
# does several GB/s. This script builds it into deps/wolfssl (ignored by git)
# as a static library that blaster links. Where the CPU lacks AES-NI it
# installs Debian's libwolfssl-dev instead and says so in deps/wolfssl/MODE.
#
# Idempotent: does nothing (no network) when deps/wolfssl/lib/libwolfssl.a is
# there and was built from the version of Debian's wolfssl package apt knows.
# Prints one line saying what it did.
#
# Environment: BLASTER_WOLFSSL_FORCE=1 rebuilds even when up to date;
#              BLASTER_WOLFSSL_SYSTEM=1 uses the binary package even with AES-NI.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="$ROOT/deps/wolfssl"
SRCDIR="$ROOT/deps/src"
MODE_FILE="$PREFIX/MODE"            # "source <version> aesni sp" or "system <version>"
# What the source build is made with, recorded in MODE: a build made with
# other flags is rebuilt. "sp": wolfSSL's single-precision P-256/X25519/RSA
# code with its x86_64 assembly (--enable-sp --enable-sp-asm); without it a
# client's full handshake spent ~4 ms in generic big-number code (1/10 of
# the handshakes per second). "O2": --enable-distro adds no optimization flags
# of its own (Debian's package build passes dpkg-buildflags' -O2), so without
# CFLAGS every C part of wolfSSL was built at -O0: a full handshake cost the
# client 210 us of CPU, 164 us at -O2 (h2load: 167). "lsb": LARGE_STATIC_BUFFERS,
# a whole record's input and output buffer inside each connection: without it
# wolfSSL grows a buffer for every record, and before freeing it zeroes it
# byte-word by byte-word (ForceZero: 15% of a TLS server's CPU at 1 MiB
# uploads). It costs 33 KiB per connection; 1 MiB HTTPS uploads to
# `blaster serve --tls` went from 1.5 to 2.6 GiB/s.
BUILD_FLAGS="aesni sp o2 lsb"
LOG="$ROOT/deps/wolfssl-build.log"
SRC_LIST=/etc/apt/sources.list.d/blaster-src.sources
JOBS="${BLASTER_WOLFSSL_JOBS:-$(nproc 2>/dev/null || echo 2)}"

say() { echo "wolfssl.sh: $*"; }
die() { echo "wolfssl.sh: $*" >&2; exit 1; }

SUDO=""
need_root() {
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || die "need root (or sudo) for: $*"
        SUDO="sudo"
    fi
}
export DEBIAN_FRONTEND=noninteractive

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

# Version of Debian's wolfssl as apt knows it (binary and source versions are
# the same for this package). Empty if apt knows none.
debian_version() {
    apt-cache policy libwolfssl-dev 2>/dev/null | awk '/Candidate:/ {print $2; exit}' | grep -v '(none)' || true
}

has_aesni() { grep -q -m1 -w aes /proc/cpuinfo 2>/dev/null; }

# --- nothing to do? ----------------------------------------------------------
want="$(debian_version)"
if [ "${BLASTER_WOLFSSL_FORCE:-0}" != 1 ] && [ -f "$MODE_FILE" ]; then
    read -r mode ver flags < "$MODE_FILE" || true
    if [ "$mode" = source ] && [ "$flags" = "$BUILD_FLAGS" ] && [ "${BLASTER_WOLFSSL_SYSTEM:-0}" != 1 ] && \
       [ -f "$PREFIX/lib/libwolfssl.a" ] && \
       { [ -z "$want" ] || [ "$ver" = "$want" ]; }; then
        say "up to date: wolfSSL $ver from Debian source with AES-NI in $PREFIX"
        exit 0
    fi
    if [ "$mode" = system ] && { ! has_aesni || [ "${BLASTER_WOLFSSL_SYSTEM:-0}" = 1 ]; } && \
       installed libwolfssl-dev; then
        say "up to date: using Debian's binary libwolfssl-dev $ver (no AES-NI)"
        exit 0
    fi
fi

# --- no AES-NI: the binary package ------------------------------------------
if ! has_aesni || [ "${BLASTER_WOLFSSL_SYSTEM:-0}" = 1 ]; then
    if ! installed libwolfssl-dev; then
        need_root "apt-get install libwolfssl-dev"
        $SUDO apt-get update -qq
        $SUDO apt-get install -y -qq --no-install-recommends libwolfssl-dev >/dev/null
    fi
    ver="$(dpkg-query -W -f='${Version}' libwolfssl-dev)"
    rm -rf "$PREFIX"; mkdir -p "$PREFIX"
    echo "system $ver" > "$MODE_FILE"
    if has_aesni; then
        say "BLASTER_WOLFSSL_SYSTEM=1: using Debian's libwolfssl-dev $ver (no AES-NI)"
    else
        say "CPU lacks AES-NI: installed Debian's libwolfssl-dev $ver instead of building"
    fi
    exit 0
fi

# --- AES-NI: build Debian's source package ----------------------------------
start=$(date +%s)
need_root "apt sources and build dependencies"

# A deb-src line, derived from the machine's own Debian apt sources, in a file
# of our own (the system's files are left alone).
if ! apt-get source --print-uris -qq wolfssl >/dev/null 2>&1; then
    tmp="$(mktemp)"
    # deb822 files: every Debian stanza (URIs naming a Debian archive) again,
    # with Types: deb-src.
    for f in /etc/apt/sources.list.d/*.sources; do
        if [ ! -f "$f" ] || [ "$f" = "$SRC_LIST" ]; then continue; fi
        awk -v RS= -v ORS='\n\n' '
            /(^|\n)Types:[^\n]*deb/ && /(^|\n)URIs:[^\n]*debian/ && !/(^|\n)Enabled: *no/ {
                sub(/(^|\n)Types:[^\n]*/, "\nTypes: deb-src"); sub(/^\n/, ""); print
            }' "$f" >> "$tmp"
    done
    # one-line format: /etc/apt/sources.list and *.list, "deb" lines for Debian.
    lines=""
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        lines+="$(awk '$1 == "deb" && /debian/ { $1 = "deb-src"; print }' "$f")"$'\n'
    done
    lines="$(printf '%s' "$lines" | sed '/^$/d' | sort -u)"
    if [ -n "$lines" ]; then
        # translate to deb822 so everything lives in one file of ours
        printf '%s\n' "$lines" | while read -r _ rest; do
            opts=""
            if [[ "$rest" == \[* ]]; then opts="${rest%%]*}"; opts="${opts#[}"; rest="${rest#*] }"; fi
            read -r uri suite comps <<< "$rest"
            echo "Types: deb-src"; echo "URIs: $uri"; echo "Suites: $suite"; echo "Components: $comps"
            for o in $opts; do
                case "$o" in signed-by=*) echo "Signed-By: ${o#signed-by=}";; esac
            done
            echo
        done >> "$tmp"
    fi
    [ -s "$tmp" ] || { rm -f "$tmp"; die "found no Debian apt source to derive a deb-src line from"; }
    $SUDO install -m 0644 "$tmp" "$SRC_LIST"
    rm -f "$tmp"
    $SUDO apt-get update -qq
fi

# Build dependencies: the source package ships a generated ./configure, so a
# C toolchain is enough; autoreconf only if configure is missing (below).
pkgs=(build-essential dpkg-dev)
missing=(); for p in "${pkgs[@]}"; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

mkdir -p "$SRCDIR"
rm -rf "$SRCDIR"/wolfssl-* "$SRCDIR"/wolfssl_*
( cd "$SRCDIR" && apt-get source -qq wolfssl >/dev/null 2>"$SRCDIR/apt-source.err" ) || \
    { cat "$SRCDIR/apt-source.err" >&2; die "apt-get source wolfssl failed"; }
dsc="$(find "$SRCDIR" -maxdepth 1 -name 'wolfssl_*.dsc' | head -1)"
ver="$(awk '/^Version:/ {print $2; exit}' "$dsc")"
src="$(find "$SRCDIR" -maxdepth 1 -mindepth 1 -type d -name 'wolfssl-*' | head -1)"
[ -n "$src" ] || die "no unpacked source under $SRCDIR"

cd "$src"
: > "$LOG"
if [ ! -x configure ]; then
    missing=(); for p in autoconf automake libtool; do installed "$p" || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] || $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    ./autogen.sh >>"$LOG" 2>&1
fi

rm -rf "$PREFIX"
# --enable-distro forces shared+static on (we drop the shared one below) and
# leaves options.h uninstalled (Debian installs it from debian/*.install; so
# do we: blaster includes it first so its structs match the library's).
CFLAGS="-O2 -DLARGE_STATIC_BUFFERS" ./configure --prefix="$PREFIX" \
    --enable-distro --enable-aesni --enable-intelasm --enable-sp --enable-sp-asm \
    --enable-static --disable-shared \
    --enable-tls13 --enable-sni --enable-alpn --enable-session-ticket \
    --disable-examples --disable-crypttests --disable-benchmark \
    >>"$LOG" 2>&1 || { tail -20 "$LOG" >&2; die "configure failed (log: $LOG)"; }
make -j"$JOBS" >>"$LOG" 2>&1 || { tail -30 "$LOG" >&2; die "make failed (log: $LOG)"; }
make install >>"$LOG" 2>&1 || { tail -20 "$LOG" >&2; die "make install failed (log: $LOG)"; }
install -m 0644 wolfssl/options.h "$PREFIX/include/wolfssl/options.h"
[ ! -f cyassl/options.h ] || install -m 0644 cyassl/options.h "$PREFIX/include/cyassl/options.h"
rm -f "$PREFIX"/lib/libwolfssl.so* "$PREFIX"/lib/libwolfssl.la
# static linking needs libm (log, pow) and pthreads
sed -i 's/^Libs: .*/& -lm -pthread/' "$PREFIX/lib/pkgconfig/wolfssl.pc"

grep -q '#define WOLFSSL_AESNI' "$PREFIX/include/wolfssl/options.h" || \
    die "built, but WOLFSSL_AESNI is not in options.h"
echo "source $ver $BUILD_FLAGS" > "$MODE_FILE"
say "built wolfSSL $ver from Debian source with AES-NI into $PREFIX in $(( $(date +%s) - start )) s"
