#!/usr/bin/env bash
# Create .venv with fabpromote, its first-party plugins and the test tools, and
# install the reference helm. Prints nothing but errors; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
plugins=()
for dir in plugins/*/; do
    [ -f "$dir/pyproject.toml" ] && plugins+=(-e "$dir")
done
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]" "${plugins[@]}"
bash scripts/install-helm.sh >/dev/null
