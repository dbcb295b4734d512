"""``fabpromote demo DIR``: the seed's example, built from local repositories.

Two apps (cat and dog), each a repo with its HLD in ``hld/`` (a helm chart
and ``config/common.yaml`` with the image), on branches master, dev, stage
and prod; a cluster HLD repo whose dev/stage/prod branches point each app at
the same-named branch; an empty manifests repo; and ``fabpromote.yaml``.
Then every environment is materialized and published.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from dulwich.repo import Repo as GitRepo

from fabpromote._util.outcome import plural
from fabpromote.exceptions import FabpromoteError

__all__ = ["app_files", "build_demo"]

APPS = {"cat": "v1.0.0", "dog": "v2.3.1"}
ENVIRONMENTS = ("dev", "stage", "prod")


def _chart_files() -> dict[str, bytes]:
    """The demo chart, shipped as package data in ``fabpromote/demo/chart``."""
    root = resources.files("fabpromote") / "demo" / "chart"
    files = {}
    stack = [(root, "")]
    while stack:
        folder, prefix = stack.pop()
        for item in folder.iterdir():
            if item.is_dir():
                stack.append((item, f"{prefix}{item.name}/"))
            else:
                files[f"hld/chart/{prefix}{item.name}"] = item.read_bytes()
    return files


def app_files(app: str, tag: str) -> dict[str, bytes]:
    """The files of one demo app repository: code, and its HLD in ``hld/`` with the image ``tag``."""
    return {
        "README.md": f"# {app}\n\nThe {app} application. Its Fabrikate HLD is in hld/.\n".encode(),
        "src/main.py": f'print("hello from {app}")\n'.encode(),
        "hld/component.yaml": f"name: {app}-application\ntype: helm\npath: ./chart\n".encode(),
        "hld/config/common.yaml": (
            f"# The image of {app}; `fabpromote set-image` edits the tag.\n"
            f"config:\n  image:\n    repository: ghcr.io/example/{app}\n    tag: {tag}\n"
        ).encode(),
        **_chart_files(),
    }


def _cluster_files(env: str, repos: Path) -> dict[str, bytes]:
    entries = "".join(
        f"  - name: {app}-application\n"
        f"    source: {repos / f'{app}.git'}\n"
        f"    method: git\n"
        f"    branch: {env}\n"
        f"    path: hld\n"
        for app in APPS
    )
    return {
        "component.yaml": f'name: "my-cluster"\ntype: static\npath: ./manifests\nsubcomponents:\n{entries}'.encode(),
        "manifests/namespace.yaml": b"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n",
        "config/common.yaml": b"subcomponents:\n"
        + b"".join(f"  {app}-application:\n    namespace: apps\n".encode() for app in APPS),
    }


def _config() -> str:
    # Relative to the file's folder (where they resolve), so `cd DIR && fabpromote status` works.
    return (
        "# The demo cluster: every repository is a local bare repository.\n"
        "name: demo\n"
        "hld: repos/cluster-hld.git\n"
        "manifests: repos/manifests.git\n"
        "environments: [dev, stage, prod]\n"
    )


def _init(path: Path, head: str) -> None:
    GitRepo.init_bare(str(path), mkdir=True)
    with GitRepo(str(path)) as repo:
        refs: Any = repo.refs  # dulwich's Ref/ObjectID are bytes at run time
        refs.set_symbolic_ref(b"HEAD", f"refs/heads/{head}".encode())


def _branch(path: Path, branch: str, sha: str) -> None:
    with GitRepo(str(path)) as repo:
        refs: Any = repo.refs
        refs[f"refs/heads/{branch}".encode()] = sha.encode()


def build_demo(directory: Path) -> Iterator[str]:
    """Build the demo in ``directory`` and publish every environment; yields what it did.

    What the demo needs (a folder it may fill, a renderer for its helm chart)
    is checked before anything is written; should it fail later anyway, or be
    interrupted, what it wrote is removed again.

    Raises:
        FabpromoteError: ``directory`` is a file or not empty, or the demo's
            app cannot be rendered here (e.g. no helm: the message says how
            to install it).
    """
    _check_folder(directory)
    _check_rendering()
    created = [path for path in (directory, *directory.parents) if not path.exists()]
    try:
        yield from _build(directory)
    except BaseException:
        _remove(directory, created[-1] if created else None)
        raise


def _check_folder(directory: Path) -> None:
    if ":" in str(directory.absolute()):
        # git (and dulwich) read `a:b/repos/cat.git` as host `a`, path `b/...` over ssh, even after a `/`.
        raise FabpromoteError(f"{directory}: a ':' in the folder's path makes its repositories read as ssh URLs")
    if directory.exists() and not directory.is_dir():
        raise FabpromoteError(f"{directory} is a file; the demo needs an empty or missing folder")
    if directory.is_dir() and any(directory.iterdir()):
        raise FabpromoteError(f"{directory} is not empty; the demo needs an empty or missing folder")


def _check_rendering() -> None:
    """Render one demo app from a temporary folder: helm missing shows here, before anything is written."""
    import tempfile

    from fabpromote._cluster.generate import generate

    app, tag = next(iter(APPS.items()))
    with tempfile.TemporaryDirectory(prefix=".fabpromote-demo-check-") as scratch:
        root = Path(scratch)
        for name, data in app_files(app, tag).items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(data)
        try:
            generate(root / "hld")
        except FabpromoteError as exc:
            raise FabpromoteError(f"the demo cannot render its apps here, nothing was written: {exc}") from None


def _remove(directory: Path, outermost: Path | None) -> None:
    """Remove what a failed demo wrote: only its own files, and the folders it created."""
    import shutil

    shutil.rmtree(directory / "repos", ignore_errors=True)
    (directory / "fabpromote.yaml").unlink(missing_ok=True)
    if outermost is not None:
        shutil.rmtree(outermost, ignore_errors=True)


def _build(directory: Path) -> Iterator[str]:
    from fabpromote._cluster.hosts import sources_for
    from fabpromote._cluster.materialize import materialize
    from fabpromote._cluster.models import Cluster
    from fabpromote._cluster.publish import publish
    from fabpromote._sources.gitops import GitOps
    from fabpromote._sources.sources import Sources

    repos = directory / "repos"
    repos.mkdir(parents=True)
    sources = Sources()
    ops = GitOps(sources)
    for app, tag in APPS.items():
        path = repos / f"{app}.git"
        _init(path, "master")
        sha = ops.commit_files(str(path), "master", app_files(app, tag), f"{app} {tag}", expected=None)
        assert sha is not None
        for env in ENVIRONMENTS:
            _branch(path, env, sha)
        yield f"created app repo {path}: master, dev, stage, prod at {sha[:12]} (image tag {tag})"
    hld = repos / "cluster-hld.git"
    _init(hld, ENVIRONMENTS[0])
    for env in ENVIRONMENTS:
        # Absolute: the HLD is read from a snapshot in the cache, where a relative source means nothing.
        files = _cluster_files(env, repos.absolute())
        ops.commit_files(str(hld), env, files, f"cluster HLD for {env}", expected=None)
    yield f"created cluster HLD repo {hld}: dev, stage, prod"
    _init(repos / "manifests.git", ENVIRONMENTS[0])
    yield f"created empty manifests repo {repos / 'manifests.git'}"
    config = directory / "fabpromote.yaml"
    config.write_text(_config())
    yield f"wrote {config}"
    cluster = Cluster.from_file(config)
    sources = sources_for(cluster)  # a fresh view (the refs written above are new), in the cluster's cache
    for env in ENVIRONMENTS:
        result = materialize(cluster, env, sources=sources)
        published = publish(result, cluster)
        yield (
            f"published {env}: {plural(len(result.manifests), 'file')} to branch {published.branch} "
            f"of {published.repo} as {published.commit}"
        )
