#!/usr/bin/env bash
# Install the Debian packages some tests drive, when their commands are missing:
#   chromium, chromium-driver  tests/test_status_page.py reads the status page in a real
#                              browser (through selenium);
#   docker-registry            the helm plugin's OCI tests push charts to a real registry
#                              (Distribution) started on 127.0.0.1;
#   strace                     tests/test_generate_stamp.py slows a process's renames with it
#                              to run a render during a rewrite from the stamp.
# Nothing to do when every command is on PATH already. CI runs as root on Debian;
# elsewhere, without root or apt-get, it says what to install and exits 1 (those tests
# then skip, outside CI).
set -euo pipefail

declare -A package=([chromium]=chromium [chromedriver]=chromium-driver [docker-registry]=docker-registry [strace]=strace)
missing=()
for command in "${!package[@]}"; do
    command -v "$command" >/dev/null || missing+=("${package[$command]}")
done
if [ ${#missing[@]} = 0 ]; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "install-debian-tools: install Debian's ${missing[*]} (apt-get install ${missing[*]})" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# The registry's service is not started (tests start their own); policy-rc.d may say so.
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
    || { echo "install-debian-tools: apt-get install ${missing[*]} failed" >&2; exit 1; }
for command in "${!package[@]}"; do
    command -v "$command" >/dev/null \
        || { echo "install-debian-tools: $command is still missing after apt-get" >&2; exit 1; }
done
