#!/usr/bin/env bash
# Follow docs/quickstart.md word for word, as a new user would: its ```sh block runs
# with `bash -e` from the root of a fresh copy of the repository (so `.venv` is new),
# then the files it promises are checked. The helm download cache is shared.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

# A copy of the working tree as git sees it (tracked and new files, nothing ignored).
mkdir "$scratch/repo" "$scratch/tmp"
(cd "$root" && git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} sh -c '[ -e "{}" ] && printf "%s\0" "{}"' \
    | tar --null -T - -cf -) | tar -xf - -C "$scratch/repo"

# The first ```sh block of the page, verbatim.
awk '/^```sh$/ {inside=1; next} inside && /^```$/ {exit} inside {print}' "$root/docs/quickstart.md" > "$scratch/quickstart.sh"
[ -s "$scratch/quickstart.sh" ] || { echo "quickstart-check: no sh block in docs/quickstart.md" >&2; exit 1; }

echo "quickstart-check: running in $scratch/repo:" && sed 's/^/  | /' "$scratch/quickstart.sh"
(
    cd "$scratch/repo"
    unset VIRTUAL_ENV
    # mktemp -d lands in $scratch/tmp; fabpromote's cache is new too.
    export TMPDIR="$scratch/tmp" FABPROMOTE_CACHE_DIR="$scratch/cache"
    bash -e "$scratch/quickstart.sh"
) > "$scratch/out.log" 2>&1 || { cat "$scratch/out.log"; echo "quickstart-check: the quickstart failed" >&2; exit 1; }
cat "$scratch/out.log"

fail=0
expect() {
    local found
    found=$(find "$scratch/tmp" -path "*/$1" -print -quit)
    if [ -n "$found" ]; then echo "ok      $1"; else echo "MISSING $1" >&2; fail=1; fi
}
expect "hello/generated/prod/hello-cluster.yaml"
expect "hello/generated/prod/hello-app/hello-app.yaml"
expect "demo/fabpromote.yaml"
[ -x "$scratch/repo/.venv/bin/fabpromote" ] && echo "ok      .venv/bin/fabpromote" || { echo "MISSING .venv/bin/fabpromote" >&2; fail=1; }
grep -q "replicas: 3" "$(find "$scratch/tmp" -path '*/hello/generated/prod/hello-app/hello-app.yaml' -print -quit)" \
    && echo "ok      replicas: 3 in the prod render" || { echo "WRONG   replicas in the prod render" >&2; fail=1; }
grep -qE "cat-application.*dev" "$scratch/out.log" && echo "ok      status lists cat-application" \
    || { echo "WRONG   status output" >&2; fail=1; }
[ "$fail" = 0 ] && echo "quickstart-check: passed"
exit "$fail"
