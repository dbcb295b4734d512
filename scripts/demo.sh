#!/usr/bin/env bash
# The main job on the embedded example: install fabpromote, build the seed's
# dev/stage/prod example from local repositories (no server), materialize and
# publish every environment, then promote an image from dev to stage.
set -euo pipefail
caller="$PWD"
cd "$(dirname "$0")/.."
root="$PWD"
bash scripts/bootstrap.sh
export PATH="$(bash scripts/install-helm.sh):$PWD/.venv/bin:$PATH"
export GIT_AUTHOR_NAME="${GIT_AUTHOR_NAME:-fabpromote demo}" GIT_AUTHOR_EMAIL="${GIT_AUTHOR_EMAIL:-demo@localhost}"
export GIT_COMMITTER_NAME="${GIT_COMMITTER_NAME:-fabpromote demo}" GIT_COMMITTER_EMAIL="${GIT_COMMITTER_EMAIL:-demo@localhost}"
demo="${1:-$(mktemp -d)/demo}"
case "$demo" in /*) ;; *) demo="$caller/$demo" ;; esac # a relative DIR is the caller's, not the checkout's
fabpromote demo "$demo"
cd "$demo"
fabpromote set-image cat-application dev v1.1.0
fabpromote materialize dev --publish
fabpromote promote cat-application --from dev --to stage --publish
fabpromote status
# The last line works as printed in a fresh shell: absolute paths, quoted, no PATH needed.
echo "the demo is in $demo (fabpromote.yaml, repos/); go on with:"
printf '  cd %q && %q history stage\n' "$demo" "$root/.venv/bin/fabpromote"
