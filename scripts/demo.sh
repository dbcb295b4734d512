#!/usr/bin/env bash
# The main job on the embedded example: install, then render examples/hello for
# dev and prod exactly as `fab generate` would, and show the result.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export PATH="$(bash scripts/install-helm.sh):$PATH"
work=$(mktemp -d)
cp -r examples/hello "$work/hello"
for env in dev prod; do
    .venv/bin/fabpromote generate "$env" --path "$work/hello"
done
echo "== $work/hello/generated/prod"
find "$work/hello/generated/prod" -type f | sort
cat "$work/hello/generated/prod/hello-app/hello-app.yaml"
