#!/usr/bin/env bash
# Installs the Debian packages dailyfresh builds, runs and tests with —
# only those missing, so a second run does nothing.
set -euo pipefail

PACKAGES=(
    gcc make pkg-config curl ca-certificates
    uwsgi-core libcap-dev libpcre3-dev uuid-dev zlib1g-dev
    libhiredis-dev libmariadb-dev libcjson-dev libssl-dev libcurl4-openssl-dev
    libcmocka-dev clang
    redis-server mariadb-server mariadb-client galera-4 nginx
    python3 python3-pytest python3-requests python3-cryptography
    wrk valgrind procps nftables iproute2
    rsync
    libnetfilter-queue-dev iptables
    nodejs npm chromium fonts-wqy-zenhei
)

# A node from elsewhere (e.g. a nodejs package that bundles npm and
# conflicts with Debian's npm) is used as it is.
have_command() { # package -> 0 when a command already provides it
    case "$1" in
        nodejs) command -v node >/dev/null ;;
        npm) command -v npm >/dev/null ;;
        *) return 1 ;;
    esac
}

missing=()
for p in "${PACKAGES[@]}"; do
    have_command "$p" && continue
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null; then SUDO=sudo; else
        echo "deps: these Debian packages are missing and I am not root: ${missing[*]}" >&2
        exit 1
    fi
else
    SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# the packaged services must not start on their default ports: the stack runs its own
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
