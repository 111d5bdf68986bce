#!/usr/bin/env bash
# uwsgi-flags.sh BUILD_DIR — what the plugin must be compiled with to match
# the uwsgi on the PATH: BUILD_DIR/uwsgi.cflags (a gcc @file with uWSGI's -D
# and -I flags) and BUILD_DIR/uwsgi.h (uwsgi --dot-h). Each file is rewritten
# only when it changed, so make rebuilds the plugin exactly when another
# uwsgi is installed.
set -euo pipefail
dir=${1:?usage: uwsgi-flags.sh BUILD_DIR}
mkdir -p "$dir"

if ! command -v uwsgi >/dev/null 2>&1; then
    echo "build: uwsgi is not installed: install the Debian package uwsgi-core (make deps does), then make again" >&2
    exit 1
fi
raw=$(uwsgi --cflags) || { echo "build: 'uwsgi --cflags' failed: reinstall the Debian package uwsgi-core" >&2; exit 1; }

# uwsgi --cflags is written for a shell: let one do the quote removal, then
# keep the flags that shape uWSGI's structs (-D) and find its headers (-I).
eval "set -- $raw"
args=()
for a in "$@"; do
    case "$a" in
        -I.) ;;
        -D*|-I*) args+=("$a") ;;
    esac
done
case " ${args[*]} " in
    *" -DUWSGI_VERSION="*) ;;
    *) echo "build: 'uwsgi --cflags' printed no -DUWSGI_VERSION: reinstall the Debian package uwsgi-core" >&2; exit 1 ;;
esac

tmp=$(mktemp "$dir/.uwsgi.XXXXXX"); chmod 644 "$tmp"
trap 'rm -f "$tmp"' EXIT
replace_if_changed() { # file
    if cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv "$tmp" "$1"; fi
}
# one flag a line, quoted as a gcc @file wants
for a in "${args[@]}"; do
    printf '%s\n' "$a" | sed -e 's/[\\"'\'' ]/\\&/g'
done >"$tmp"
replace_if_changed "$dir/uwsgi.cflags"

tmp=$(mktemp "$dir/.uwsgi.XXXXXX"); chmod 644 "$tmp"
uwsgi --dot-h >"$tmp" || { echo "build: 'uwsgi --dot-h' failed: reinstall the Debian package uwsgi-core" >&2; exit 1; }
replace_if_changed "$dir/uwsgi.h"
