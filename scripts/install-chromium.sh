#!/usr/bin/env bash
# Install Debian's chromium and chromium-driver, which tests/test_status_page.py drives
# (through selenium) to read the status page in a real browser. Nothing to do when
# both are on PATH already. CI runs as root on Debian; elsewhere, without root or
# apt-get, it says what to install and exits 1 (the browser tests then skip, outside CI).
set -euo pipefail

if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "install-chromium: install Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq chromium chromium-driver >/dev/null
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    echo "install-chromium: chromium or chromedriver is still missing after apt-get" >&2
    exit 1
fi
