#!/usr/bin/env bash
# The test command: install everything the tests need, then run them all, spread
# over one pytest-xdist worker per CPU (`-n 0` among the arguments: one process).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
# helm v3.18.0 on PATH, the reference; the helm plugin's tests also run against helm 4, and
# against the in-process backend, checked against helm v4.2.3, the helm it embeds.
FABPROMOTE_HELM4="$(bash scripts/install-helm.sh 4)/helm" FABPROMOTE_HELM42="$(bash scripts/install-helm.sh 4.2)/helm" \
    PATH="$(bash scripts/install-helm.sh):$PATH" \
    exec .venv/bin/python -m pytest -q -n auto "$@"
