"""Synthetic HLDs and fleets for the benchmarks: N apps, each an app repo with ``hld/``.

Three kinds of app:

* ``static``: ``hld/`` is a ``type: static`` component with 3 manifests;
* ``helm``: ``hld/`` is a ``type: helm`` component with a small local chart
  and ``config/common.yaml`` / ``config/prod.yaml`` holding its values;
* ``mixed``: ``hld/`` has both, as two inline subcomponents (a static folder
  and a helm chart).

Two layouts:

* :func:`build_local_hld`: one local Fabrikate HLD (no git), the apps under
  ``apps/<name>/``, for ``fabpromote generate prod``;
* :func:`build_app_repos` + :func:`build_cluster`: bare app repos (branch
  ``prod``), a cluster HLD repo whose ``prod`` branch lists every app as
  ``method: git``, ``branch: prod``, ``path: hld``, an empty manifests repo
  and the cluster file ``fabpromote.yaml``. Sources are plain paths, or a
  ``git daemon`` base URL (the same bare repos, served).

Repositories are written with dulwich (one pack per commit, no ``git``
process), so a thousand app repos take seconds; setup is never timed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import attrs
from dulwich.objects import Blob, Commit, ShaFile, Tree
from dulwich.repo import Repo

__all__ = [
    "KINDS",
    "ClusterFiles",
    "app_files",
    "app_name",
    "build_app_repos",
    "build_cluster",
    "build_local_hld",
    "change_app",
    "edit_local_app",
    "write_files",
]

KINDS = ("static", "helm", "mixed")
BRANCH = "prod"
_IDENTITY = b"fabpromote bench <bench@localhost>"
_EPOCH = 1_700_000_000
_FILE_MODE = 0o100644
_DIR_MODE = 0o040000


def app_name(index: int) -> str:
    """The name of app ``index`` (zero-padded so that listings sort like the numbers)."""
    return f"app-{index:04d}"


# The files of one app


_CHART_YAML = """\
apiVersion: v2
name: bench-app
description: A small chart for the fabpromote benchmarks
type: application
version: 0.1.0
appVersion: "1.0.0"
"""

_VALUES_YAML = """\
replicas: 1
image:
  repository: nginx
  tag: latest
port: 8080
env: {}
"""

_HELPERS = """\
{{- define "bench-app.labels" -}}
app.kubernetes.io/name: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end }}
"""

_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  labels:
    {{- include "bench-app.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels:
      app.kubernetes.io/name: {{ .Release.Name }}
  template:
    metadata:
      labels:
        {{- include "bench-app.labels" . | nindent 8 }}
    spec:
      containers:
        - name: app
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          ports:
            - containerPort: {{ .Values.port }}
          env:
            {{- range $name, $value := .Values.env }}
            - name: {{ $name }}
              value: {{ $value | quote }}
            {{- end }}
"""

_SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
  labels:
    {{- include "bench-app.labels" . | nindent 4 }}
spec:
  selector:
    app.kubernetes.io/name: {{ .Release.Name }}
  ports:
    - port: 80
      targetPort: {{ .Values.port }}
"""

_CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-settings
data:
  release: {{ .Release.Name | quote }}
  namespace: {{ .Release.Namespace | quote }}
"""


def _chart(prefix: str) -> dict[str, bytes]:
    return {
        f"{prefix}chart/Chart.yaml": _CHART_YAML.encode(),
        f"{prefix}chart/values.yaml": _VALUES_YAML.encode(),
        f"{prefix}chart/templates/_helpers.tpl": _HELPERS.encode(),
        f"{prefix}chart/templates/deployment.yaml": _DEPLOYMENT.encode(),
        f"{prefix}chart/templates/service.yaml": _SERVICE.encode(),
        f"{prefix}chart/templates/configmap.yaml": _CONFIGMAP.encode(),
    }


def _static_docs(prefix: str, name: str, version: int) -> dict[str, bytes]:
    """Three manifests: a ConfigMap, a Service and a Deployment (the version in the image tag)."""
    return {
        f"{prefix}manifests/01-configmap.yaml": (
            f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}-config\n  namespace: {name}\n"
            f"data:\n  LOG_LEVEL: info\n  FEATURE_FLAGS: a,b,c\n"
        ).encode(),
        f"{prefix}manifests/02-service.yaml": (
            f"apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: {name}\n"
            f"spec:\n  selector:\n    app: {name}\n  ports:\n    - port: 80\n      targetPort: 8080\n"
        ).encode(),
        f"{prefix}manifests/03-deployment.yaml": (
            f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: {name}\n"
            f"spec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: {name}\n"
            f"  template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n"
            f"      containers:\n        - name: app\n          image: ghcr.io/example/{name}:v1.{version}.0\n"
        ).encode(),
    }


def _helm_config(name: str, version: int, *, indent: str = "") -> tuple[str, str]:
    """(common, prod) config bodies for a helm component (``indent`` nests them under a subcomponent)."""
    common = (
        f"{indent}namespace: {name}\n"
        f"{indent}config:\n"
        f"{indent}  image:\n"
        f"{indent}    repository: ghcr.io/example/{name}\n"
        f"{indent}    tag: v1.{version}.0\n"
        f"{indent}  env:\n"
        f"{indent}    APP_NAME: {name}\n"
    )
    prod = f"{indent}config:\n{indent}  replicas: 3\n{indent}  env:\n{indent}    ENVIRONMENT: prod\n"
    return common, prod


def app_files(kind: str, name: str, *, version: int = 0, prefix: str = "hld/") -> dict[str, bytes]:
    """The files of one app's HLD under ``prefix`` (``version`` changes the image tag)."""
    if kind == "static":
        return {
            f"{prefix}component.yaml": f"name: {name}\ntype: static\npath: ./manifests\n".encode(),
            **_static_docs(prefix, name, version),
        }
    if kind == "helm":
        common, prod = _helm_config(name, version)
        return {
            f"{prefix}component.yaml": f"name: {name}\ntype: helm\npath: ./chart\n".encode(),
            f"{prefix}config/common.yaml": common.encode(),
            f"{prefix}config/prod.yaml": prod.encode(),
            **_chart(prefix),
        }
    if kind == "mixed":
        common, prod = _helm_config(name, version, indent="    ")
        chart = f"{name}-chart"
        return {
            f"{prefix}component.yaml": (
                f"name: {name}\nsubcomponents:\n"
                f"  - name: {name}-manifests\n    type: static\n    path: ./manifests\n"
                f"  - name: {chart}\n    type: helm\n    path: ./chart\n"
            ).encode(),
            f"{prefix}config/common.yaml": f"subcomponents:\n  {chart}:\n{common}".encode(),
            f"{prefix}config/prod.yaml": f"subcomponents:\n  {chart}:\n{prod}".encode(),
            **_static_docs(prefix, name, version),
            **_chart(prefix),
        }
    raise ValueError(f"unknown app kind {kind!r} (expected one of {', '.join(KINDS)})")


def write_files(root: Path, files: Mapping[str, bytes]) -> None:
    """Write ``{relative path: bytes}`` under ``root``."""
    made: set[Path] = set()
    for name, data in files.items():
        path = root / name
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        path.write_bytes(data)


# A local HLD (for `fabpromote generate`)


def build_local_hld(root: Path, n_apps: int, kind: str) -> Path:
    """A local HLD: a root component whose subcomponents are ``apps/<name>`` (no git)."""
    entries = "".join(f"  - name: {app_name(i)}\n    source: ./apps/{app_name(i)}\n" for i in range(n_apps))
    files = {"component.yaml": f"name: bench-cluster\nsubcomponents:\n{entries}".encode()}
    for index in range(n_apps):
        files.update(app_files(kind, app_name(index), prefix=f"apps/{app_name(index)}/"))
    write_files(root, files)
    return root


def edit_local_app(root: Path, name: str, kind: str, version: int) -> None:
    """Give app ``name`` of the local HLD at ``root`` the image tag of ``version`` (only changed files are written)."""
    for path, data in app_files(kind, name, version=version, prefix=f"apps/{name}/").items():
        if (root / path).read_bytes() != data:
            (root / path).write_bytes(data)


# Git repositories, written with dulwich


def _tree(files: Mapping[str, bytes], objects: list[ShaFile]) -> bytes:
    """Write the blobs and trees of ``files`` into ``objects``; return the root tree id."""
    nested: dict[str, object] = {}
    for name, data in files.items():
        *folders, leaf = name.split("/")
        node = nested
        for folder in folders:
            node = node.setdefault(folder, {})  # type: ignore[assignment]
        node[leaf] = data

    def build(node: Mapping[str, object]) -> bytes:
        tree = Tree()
        for name, value in node.items():
            if isinstance(value, bytes):
                blob = Blob.from_string(value)
                objects.append(blob)
                tree.add(name.encode(), _FILE_MODE, blob.id)
            else:
                tree.add(name.encode(), _DIR_MODE, build(value))  # type: ignore[arg-type]
        objects.append(tree)
        return tree.id

    return build(nested)


def _commit(repo: Repo, branch: str, files: Mapping[str, bytes], message: str) -> str:
    """A commit of exactly ``files`` on ``branch`` (parent: its tip, if any), written as one pack."""
    ref = f"refs/heads/{branch}".encode()
    try:
        parent = repo.refs[ref]
    except KeyError:
        parent = None
    objects: list[ShaFile] = []
    commit = Commit()
    commit.tree = _tree(files, objects)
    commit.parents = [parent] if parent else []
    commit.author = commit.committer = _IDENTITY
    when = repo[parent].commit_time + 1 if parent is not None else _EPOCH
    commit.author_time = commit.commit_time = when
    commit.author_timezone = commit.commit_timezone = 0
    commit.encoding = b"UTF-8"
    commit.message = message.encode() + b"\n"
    objects.append(commit)
    repo.object_store.add_objects([(obj, None) for obj in objects])
    repo.refs[ref] = commit.id
    return commit.id.decode()


def _bare_repo(path: Path, branches: Mapping[str, Mapping[str, bytes]], head: str = BRANCH) -> None:
    repo = Repo.init_bare(os.fspath(path), mkdir=True)
    try:
        for branch, files in branches.items():
            _commit(repo, branch, files, f"{path.stem}: initial {branch}")
        repo.refs.set_symbolic_ref(b"HEAD", f"refs/heads/{head}".encode())
    finally:
        repo.close()


def build_app_repos(repos: Path, n_apps: int, kind: str) -> list[str]:
    """``repos/<app>.git`` for ``n_apps`` apps of ``kind``, each with branch ``prod``; their names."""
    repos.mkdir(parents=True, exist_ok=True)
    names = [app_name(index) for index in range(n_apps)]
    readme = b"# an app\n\nIts Fabrikate HLD is in hld/.\n"
    for name in names:
        _bare_repo(repos / f"{name}.git", {BRANCH: {"README.md": readme, **app_files(kind, name)}})
    return names


def change_app(repos: Path, name: str, kind: str, version: int) -> str:
    """Commit a new image tag (``v1.<version>.0``) to app ``name``'s ``prod``; the new SHA."""
    repo = Repo(os.fspath(repos / f"{name}.git"))
    try:
        files = {"README.md": b"# an app\n\nIts Fabrikate HLD is in hld/.\n", **app_files(kind, name, version=version)}
        return _commit(repo, BRANCH, files, f"{name}: image v1.{version}.0")
    finally:
        repo.close()


@attrs.frozen(kw_only=True)
class ClusterFiles:
    """A cluster HLD repo, its manifests repo and its cluster file.

    Attributes:
        config: The cluster file (``fabpromote.yaml``).
        hld: The cluster HLD repo's URL (a path or ``git://``).
        manifests: The manifests repo's URL.
        apps: The app names, in HLD order.
    """

    config: Path
    hld: str
    manifests: str
    apps: tuple[str, ...]


def build_cluster(repos: Path, apps: Iterable[str], *, name: str, base_url: str | None = None) -> ClusterFiles:
    """The cluster HLD repo ``<name>-hld.git`` listing ``apps``, a manifests repo and the cluster file.

    Args:
        repos: Where the bare repos are (and go).
        apps: The app repos (``repos/<app>.git``) to list.
        name: The cluster's name (also names its repos and file).
        base_url: Serve-from URL (``git://127.0.0.1:PORT/``) for every repo;
            None for plain paths.
    """
    apps = tuple(apps)

    def url(repo: str) -> str:
        return f"{base_url}{repo}" if base_url else os.fspath(repos / repo)

    entries = "".join(
        f"  - name: {app}\n    source: {url(f'{app}.git')}\n    method: git\n    branch: {BRANCH}\n    path: hld\n"
        for app in apps
    )
    files = {
        "component.yaml": f"name: {name}\ntype: static\npath: ./manifests\nsubcomponents:\n{entries}".encode(),
        "manifests/namespace.yaml": b"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: platform\n",
        "config/common.yaml": b"config:\n  cluster: bench\n",
    }
    _bare_repo(repos / f"{name}-hld.git", {BRANCH: files})
    Repo.init_bare(os.fspath(repos / f"{name}-manifests.git"), mkdir=True).close()
    config = repos.parent / f"{name}.fabpromote.yaml"
    config.write_text(
        f"name: {name}\n"
        f"hld: {url(f'{name}-hld.git')}\n"
        f"manifests: {url(f'{name}-manifests.git')}\n"
        f"environments: [{BRANCH}]\n"
    )
    return ClusterFiles(config=config, hld=url(f"{name}-hld.git"), manifests=url(f"{name}-manifests.git"), apps=apps)
