#!/usr/bin/env bash
# The main job on the embedded example: install fabpromote, build the seed's
# dev/stage/prod example from local repositories (no server), materialize and
# publish every environment, then promote an image from dev to stage.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export PATH="$(bash scripts/install-helm.sh):$PWD/.venv/bin:$PATH"
export GIT_AUTHOR_NAME="${GIT_AUTHOR_NAME:-fabpromote demo}" GIT_AUTHOR_EMAIL="${GIT_AUTHOR_EMAIL:-demo@localhost}"
export GIT_COMMITTER_NAME="${GIT_COMMITTER_NAME:-fabpromote demo}" GIT_COMMITTER_EMAIL="${GIT_COMMITTER_EMAIL:-demo@localhost}"
demo="${1:-$(mktemp -d)/demo}"
fabpromote demo "$demo"
cd "$demo"
fabpromote set-image cat-application dev v1.1.0
fabpromote materialize dev --publish
fabpromote promote cat-application --from dev --to stage --publish
fabpromote status
echo "the demo is in $demo (fabpromote.yaml, repos/); try: cd $demo && fabpromote history stage"
