#!/usr/bin/env bash
# The Alipay settings scripts/stack.sh gives the uWSGI instances.
#
#   scripts/alipay-keys.sh local DIR LOG [OWNER]
#       the local Alipay gateway's keys and app id, made once in DIR:
#       app_private.pem and app_public.pem (the shop's), alipay_private.pem
#       and alipay_public.pem (the gateway's, standing in for Alipay's),
#       app_id; openssl's messages go to LOG. Run as root, DIR is OWNER's.
#   scripts/alipay-keys.sh real
#       checks that a real gateway's settings are complete: DF_ALIPAY_APP_ID,
#       DF_ALIPAY_APP_PRIVATE_KEY (a readable PEM file), DF_ALIPAY_PUBLIC_KEY,
#       DF_ALIPAY_NOTIFY_URL and DF_ALIPAY_RETURN_URL beside DF_ALIPAY_GATEWAY.
#
# One line on stderr and status 1 say what is wrong.
set -euo pipefail

die() { printf '%s\n' "$*" >&2; exit 1; }

local_keys() { # dir log [owner]
    local dir=$1 log=$2 owner=${3:-} k
    mkdir -p "$dir"
    chmod 700 "$dir"
    for k in app alipay; do
        if [ ! -s "$dir/${k}_private.pem" ]; then
            # 2048-bit RSA, PKCS#8 ("BEGIN PRIVATE KEY")
            openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dir/${k}_private.pem.tmp" \
                >>"$log" 2>&1 || die "openssl could not make an RSA key"
            mv "$dir/${k}_private.pem.tmp" "$dir/${k}_private.pem"
            rm -f "$dir/${k}_public.pem"
        fi
        if [ ! -s "$dir/${k}_public.pem" ]; then
            openssl pkey -in "$dir/${k}_private.pem" -pubout -out "$dir/${k}_public.pem" \
                >>"$log" 2>&1 || die "openssl could not write ${k}_public.pem"
        fi
    done
    [ -s "$dir/app_id" ] || echo 2021000000000001 >"$dir/app_id"
    # the instances read the app's key, the local gateway (run as the same
    # user, a stand-in for Alipay in development) its own and its trades
    if [ -n "$owner" ] && [ "$(id -u)" = 0 ]; then
        chown -R "$owner:$owner" "$dir"
    fi
}

real_settings() {
    local v missing=()
    for v in DF_ALIPAY_APP_ID DF_ALIPAY_APP_PRIVATE_KEY DF_ALIPAY_PUBLIC_KEY DF_ALIPAY_NOTIFY_URL DF_ALIPAY_RETURN_URL; do
        [ -n "${!v:-}" ] || missing+=("$v")
    done
    [ ${#missing[@]} -eq 0 ] ||
        die "DF_ALIPAY_GATEWAY is set (a real gateway), but these are not: ${missing[*]}"
    [ -r "$DF_ALIPAY_APP_PRIVATE_KEY" ] ||
        die "DF_ALIPAY_APP_PRIVATE_KEY: cannot read the app private key file $DF_ALIPAY_APP_PRIVATE_KEY"
}

case "${1:-}" in
    local)
        [ $# -ge 3 ] || die "usage: $0 local DIR LOG [OWNER]"
        local_keys "$2" "$3" "${4:-}"
        ;;
    real) real_settings ;;
    *) die "usage: $0 local DIR LOG [OWNER] | real" ;;
esac
