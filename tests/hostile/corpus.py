"""The hostile-input corpus: bad files, names, paths, refs and URLs, each with its error.

Every :class:`Case` writes some files under a fresh work folder, optionally
builds real git repositories there (``setup``), runs one ``fabpromote``
command and names the :mod:`fabpromote.exceptions` class it must raise and a
regex its message must match. ``{work}`` in argv, file text and environment
values is replaced by the work folder. ``test_hostile.py`` runs each case
through the CLI (a subprocess, bounded in time and memory) and the library.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

import attrs

from fabpromote.testing.gitrepos import WorkRepo
from fabpromote.testing.httpfaults import FaultyHTTPServer

SECRET = "s3cr3t-T0KEN"


@attrs.frozen
class Case:
    """One hostile input and the error it must produce."""

    name: str
    argv: tuple[str, ...]
    error: str
    match: str
    files: Mapping[str, str | bytes] = attrs.field(factory=dict, repr=False)
    env: Mapping[str, str] = attrs.field(factory=dict)
    setup: Callable[[Path], None] | None = None
    #: Text that must appear nowhere in the output (tokens).
    secrets: tuple[str, ...] = ()


GEN = ("generate", "--path", "{work}/hld")
GUARD = ("guard", "--base", "stage", "--head", "dev", "--config", "{work}/fabpromote.yaml")
MAT = ("materialize", "dev", "--config", "{work}/fabpromote.yaml")
LOCAL_LEAF = "name: leaf\ntype: static\npath: ./m\n"
CLUSTER = "name: east\nhld: {work}/cluster\nmanifests: {work}/manifests\n"


def _component(**fields: object) -> str:
    return json.dumps({"name": "root", **fields})


def _bomb(prefix: str, levels: int = 9) -> str:
    """A "billion laughs": each level repeats the one before ten times."""
    lines = [f"{prefix}a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"{prefix}a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def _subcomponent_bomb() -> str:
    """Inline subcomponents that double at every level: 2**30 components from 31 lines."""
    body = ["x0: &c0 {name: leaf, type: static, path: ./m}"]
    body += [
        f"x{i}: &c{i} {{name: n, type: static, path: ./m, subcomponents: [*c{i - 1}, *c{i - 1}]}}" for i in range(1, 30)
    ]
    return "\n".join(["name: root", *body, "subcomponents: [*c29, *c29]"]) + "\n"


def _alias_chain(levels: int) -> str:
    lines = ["config:", "  a0: &a0 [x]"] + [f"  a{i}: &a{i} [*a{i - 1}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def _git_app(work: Path, files: dict[str, str | bytes], links: Mapping[str, str] = {}) -> WorkRepo:
    """A git repository ``work/app`` with ``files`` and ``links`` (name -> target) on master."""
    filled = {
        name: text.replace("{work}", str(work)) if isinstance(text, str) else text for name, text in files.items()
    }
    repo = WorkRepo.create(work / "app", filled)
    for name, target in links.items():
        os.symlink(target, repo.path / name)
    if links:
        repo.commit({}, "links")
    return repo


def _app_with(files: dict[str, str | bytes], links: Mapping[str, str] = {}) -> Callable[[Path], None]:
    def setup(work: Path) -> None:
        _git_app(work, files, links)

    return setup


def _cluster_repo(branch: str = "dev") -> Callable[[Path], None]:
    """A cluster HLD repo with branch ``branch`` and an empty bare manifests repo."""

    def setup(work: Path) -> None:
        WorkRepo.create(work / "cluster", {"component.yaml": "name: cluster\n"}, branch=branch)
        from fabpromote.testing.gitrepos import git

        git("init", "-q", "--bare", str(work / "manifests"))

    return setup


def _download_from(
    *, content_length: int | None, body_bytes: int | None, stall: bool = False
) -> Callable[[Path], None]:
    """``hld/``: one ``method: http`` component served by a fresh FaultyHTTPServer, which stops itself later."""

    def setup(work: Path) -> None:
        server = FaultyHTTPServer(content_length=content_length, body_bytes=body_bytes, stall=stall)
        server.start()
        timer = threading.Timer(SERVER_LIFETIME, server.stop)
        timer.daemon = True  # never keeps the test run waiting
        timer.start()
        (work / "hld").mkdir()
        (work / "hld" / "component.yaml").write_text(
            f"name: root\nsubcomponents:\n  - {{name: d, type: static, method: http, source: '{server.url}d.yaml'}}\n"
        )

    return setup


#: Seconds a hostile server of a case lives: long enough for the case, short enough to free its port.
SERVER_LIFETIME = 30.0
DOWNLOAD_LIMIT = {"FABPROMOTE_MAX_DOWNLOAD_BYTES": "1048576"}


def _big(size: int) -> bytes:
    line = b"# " + b"x" * 1021 + b"\n"
    return b"name: big\n" + line * (size // len(line) + 1)


GIT_ROOT = "name: root\nsubcomponents:\n  - name: app\n    method: git\n    source: {work}/app\n    branch: master\n"

CASES: list[Case] = [
    # --- malformed files -------------------------------------------------------------
    Case(
        "yaml-unclosed-flow",
        GEN,
        "HLDError",
        r"component\.yaml:\d+: invalid YAML",
        {"hld/component.yaml": "name: [a, b\n"},
    ),
    Case(
        "yaml-bad-indent",
        GEN,
        "HLDError",
        r"component\.yaml:2: invalid YAML",
        {"hld/component.yaml": "name: a\n  type: b\n c: d\n"},
    ),
    Case(
        "yaml-tab-indent",
        GEN,
        "HLDError",
        r"invalid YAML",
        {"hld/component.yaml": "name: a\nsubcomponents:\n\t- name: b\n"},
    ),
    Case(
        "json-trailing-comma",
        GEN,
        "HLDError",
        r"component\.json:1: invalid JSON",
        {"hld/component.json": '{"name": "a",}'},
    ),
    Case("json-not-object", GEN, "HLDError", r"expected a map, got a list", {"hld/component.json": "[1, 2]"}),
    Case(
        "config-yaml-malformed",
        GEN,
        "HLDError",
        r"config/common\.yaml:\d+: invalid YAML",
        {"hld/component.yaml": LOCAL_LEAF, "hld/m/a.yaml": "a: 1\n", "hld/config/common.yaml": "config: {a: [}\n"},
    ),
    Case(
        "config-json-malformed",
        ("generate", "prod", "--path", "{work}/hld"),
        "HLDError",
        r"config/prod\.json:1: invalid JSON",
        {"hld/component.yaml": LOCAL_LEAF, "hld/m/a.yaml": "a: 1\n", "hld/config/prod.json": '{"config": '},
    ),
    Case(
        "cluster-malformed",
        GUARD,
        "HLDError",
        r"fabpromote\.yaml:\d+: invalid YAML",
        {"fabpromote.yaml": "name: [east\n"},
    ),
    Case("cluster-empty", GUARD, "HLDError", r"empty configuration", {"fabpromote.yaml": ""}),
    Case("cluster-missing", GUARD, "HLDError", r"fabpromote\.yaml: cannot read", {}),
    Case(
        "lock-not-json",
        (*MAT, "--lock", "{work}/lock.json"),
        "HLDError",
        r"lock\.json: the lock is not JSON",
        {"fabpromote.yaml": CLUSTER, "lock.json": "{nope"},
    ),
    Case(
        "lock-entry-shape",
        (*MAT, "--lock", "{work}/lock.json"),
        "HLDError",
        r"a lock entry has no 'sha'",
        {"fabpromote.yaml": CLUSTER, "lock.json": '[{"url": "x"}]'},
    ),
    # --- wrong types, component fields -------------------------------------------------
    Case("component-is-list", GEN, "HLDError", r"expected a map, got a list", {"hld/component.yaml": "- a\n- b\n"}),
    Case("component-is-scalar", GEN, "HLDError", r"expected a map, got 'hello'", {"hld/component.yaml": "hello\n"}),
    Case(
        "name-is-map",
        GEN,
        "HLDError",
        r":1 \(name\): expected a string, got a map",
        {"hld/component.yaml": "name: {a: 1}\n"},
    ),
    Case(
        "type-is-list",
        GEN,
        "HLDError",
        r"\(type\): expected a string, got a list",
        {"hld/component.yaml": "name: a\ntype: [static]\n"},
    ),
    Case(
        "source-is-map",
        GEN,
        "HLDError",
        r"\(source\): expected a string",
        {"hld/component.yaml": "name: a\nsource: {x: 1}\n"},
    ),
    Case(
        "path-is-list", GEN, "HLDError", r"\(path\): expected a string", {"hld/component.yaml": "name: a\npath: [.]\n"}
    ),
    Case(
        "subcomponents-is-map",
        GEN,
        "HLDError",
        r"\(subcomponents\): expected a list, got a map",
        {"hld/component.yaml": "name: a\nsubcomponents: {b: 1}\n"},
    ),
    Case(
        "subcomponent-is-string",
        GEN,
        "HLDError",
        r"\(subcomponents\[0\]\): expected a map",
        {"hld/component.yaml": "name: a\nsubcomponents: [b]\n"},
    ),
    Case(
        "hooks-is-list", GEN, "HLDError", r"\(hooks\): expected a map", {"hld/component.yaml": "name: a\nhooks: [ls]\n"}
    ),
    Case(
        "hook-is-string",
        GEN,
        "HLDError",
        r"\(hooks\.before-generate\): expected a list",
        {"hld/component.yaml": "name: a\nhooks:\n  before-generate: ls\n"},
    ),
    Case(
        "repositories-is-list",
        GEN,
        "HLDError",
        r"\(repositories\): expected a map",
        {"hld/component.yaml": "name: a\nrepositories: [x]\n"},
    ),
    Case("key-is-map", GEN, "HLDError", r"expected a plain key", {"hld/component.yaml": "? {a: 1}\n: b\n"}),
    Case(
        "json-name-is-number",
        GEN,
        "HLDError",
        r"\(name\): expected a string, got '1'",
        {"hld/component.json": '{"name": 1}'},
    ),
    Case(
        "json-branch-is-bool",
        GEN,
        "HLDError",
        r"\(subcomponents\[0\]\.branch\): expected a string",
        {"hld/component.json": _component(subcomponents=[{"name": "b", "branch": True}])},
    ),
    # --- wrong types, config fields ----------------------------------------------------
    Case(
        "config-namespace-map",
        GEN,
        "HLDError",
        r"common\.yaml:1 \(namespace\): expected a string",
        {"hld/component.yaml": LOCAL_LEAF, "hld/config/common.yaml": "namespace: {a: 1}\n"},
    ),
    Case(
        "config-inject-quoted",
        GEN,
        "HLDError",
        r"\(injectNamespace\): expected true or false",
        {"hld/component.yaml": LOCAL_LEAF, "hld/config/common.yaml": 'injectNamespace: "yes"\n'},
    ),
    Case(
        "config-disabled-number",
        GEN,
        "HLDError",
        r"\(disabled\): expected true or false",
        {"hld/component.yaml": LOCAL_LEAF, "hld/config/common.yaml": "disabled: 1\n"},
    ),
    Case(
        "config-config-list",
        GEN,
        "HLDError",
        r"\(config\): expected a map, got a list",
        {"hld/component.yaml": LOCAL_LEAF, "hld/config/common.yaml": "config: [1]\n"},
    ),
    Case(
        "config-subcomponents-list",
        GEN,
        "HLDError",
        r"\(subcomponents\): expected a map",
        {"hld/component.yaml": LOCAL_LEAF, "hld/config/common.yaml": "subcomponents: [a]\n"},
    ),
    Case(
        "config-json-config-string",
        GEN,
        "HLDError",
        r"common\.json \(config\): expected a map",
        {"hld/component.yaml": LOCAL_LEAF, "hld/config/common.json": '{"config": "x"}'},
    ),
    Case(
        "config-bad-binary",
        GEN,
        "HLDError",
        r"\(config\): invalid value: .*base64",
        {
            "hld/component.yaml": LOCAL_LEAF,
            "hld/m/a.yaml": "a: 1\n",
            "hld/config/common.yaml": "config:\n  a: !!binary '%%%'\n",
        },
    ),
    # --- wrong types, cluster file -----------------------------------------------------
    Case("cluster-top-list", GUARD, "HLDError", r"expected a map, got a list", {"fabpromote.yaml": "- east\n"}),
    Case(
        "cluster-unknown-field",
        GUARD,
        "HLDError",
        r":4 \(manifest\): unknown field",
        {"fabpromote.yaml": "name: e\nhld: h\nmanifests: m\nmanifest: x\n"},
    ),
    Case(
        "cluster-clusters-map",
        GUARD,
        "HLDError",
        r"\(clusters\): expected a list",
        {"fabpromote.yaml": "clusters: {east: 1}\n"},
    ),
    Case(
        "cluster-name-missing",
        GUARD,
        "HLDError",
        r"missing field 'name'",
        {"fabpromote.yaml": "hld: h\nmanifests: m\n"},
    ),
    Case(
        "cluster-hld-empty",
        GUARD,
        "HLDError",
        r"\(hld\): must not be empty",
        {"fabpromote.yaml": "name: e\nhld: ''\nmanifests: m\n"},
    ),
    Case(
        "cluster-hld-list",
        GUARD,
        "HLDError",
        r"\(hld\): expected a map, got a list",
        {"fabpromote.yaml": "name: e\nhld: [h]\nmanifests: m\n"},
    ),
    Case(
        "cluster-environments-string",
        GUARD,
        "HLDError",
        r"\(environments\): expected a list",
        {"fabpromote.yaml": "name: e\nhld: h\nmanifests: m\nenvironments: dev\n"},
    ),
    Case(
        "cluster-environments-empty",
        GUARD,
        "HLDError",
        r"expected at least one environment",
        {"fabpromote.yaml": "name: e\nhld: h\nmanifests: m\nenvironments: []\n"},
    ),
    Case(
        "cluster-duplicate-env",
        GUARD,
        "HLDError",
        r"duplicate environment 'dev'",
        {"fabpromote.yaml": "name: e\nhld: h\nmanifests: m\nenvironments: [dev, stage, dev]\n"},
    ),
    Case(
        "cluster-protected-string",
        GUARD,
        "HLDError",
        r"\(environments\[0\]\.protected\): expected true or false",
        {"fabpromote.yaml": "name: e\nhld: h\nmanifests: m\nenvironments: [{name: dev, protected: 'no'}]\n"},
    ),
    Case(
        "cluster-promotion-unknown",
        GUARD,
        "HLDError",
        r"unknown environment 'qa'",
        {"fabpromote.yaml": "name: e\nhld: h\nmanifests: m\npromotions: {dev: [qa]}\n"},
    ),
    Case(
        "cluster-allow-hooks-string",
        GUARD,
        "HLDError",
        r"\(settings\.allow_hooks\): expected true or false",
        {"fabpromote.yaml": "name: e\nhld: h\nmanifests: m\nsettings: {allow_hooks: 'true'}\n"},
    ),
    Case(
        "cluster-duplicate-names",
        GUARD,
        "HLDError",
        r"duplicate cluster name 'e'",
        {"fabpromote.yaml": "clusters:\n  - {name: e, hld: h, manifests: m}\n  - {name: e, hld: h, manifests: m}\n"},
    ),
    Case(
        "cluster-host-without-type",
        GUARD,
        "HLDError",
        r"\(hosts\.git\.example\.com\): missing field 'type'",
        {"fabpromote.yaml": "name: e\nhld: h\nmanifests: m\nhosts: {git.example.com: {api_url: x}}\n"},
    ),
    # --- limits: alias bombs, nesting, size ----------------------------------------------
    Case(
        "alias-bomb-config",
        GEN,
        "HLDError",
        r"common\.yaml: invalid YAML: aliases expand to more than \d+ nodes",
        {
            "hld/component.yaml": LOCAL_LEAF,
            "hld/m/a.yaml": "a: 1\n",
            "hld/config/common.yaml": "config:\n" + _bomb("  "),
        },
    ),
    Case(
        "alias-bomb-subcomponents",
        GEN,
        "HLDError",
        r"component\.yaml: invalid YAML: aliases expand",
        {"hld/component.yaml": _subcomponent_bomb()},
    ),
    Case(
        "alias-bomb-cluster-file",
        GUARD,
        "HLDError",
        r"fabpromote\.yaml: invalid YAML: aliases expand",
        {"fabpromote.yaml": "name: e\nhld: h\nmanifests: m\nhosts:\n  x:\n    type: local\n" + _bomb("    ")},
    ),
    Case(
        "alias-self-reference",
        GEN,
        "HLDError",
        r"component\.yaml:1: invalid YAML: anchor value contains itself",
        {"hld/component.yaml": "&c {name: x, subcomponents: [*c]}\n"},
    ),
    Case(
        "alias-merge-self",
        GEN,
        "HLDError",
        r"anchor value contains itself",
        {"hld/component.yaml": LOCAL_LEAF, "hld/config/common.yaml": "config: &a {b: 1, <<: *a}\n"},
    ),
    Case(
        "alias-deep-chain",
        GEN,
        "HLDError",
        r"common\.yaml: invalid YAML: collections nested more than 200 levels deep \(through aliases\)",
        {"hld/component.yaml": LOCAL_LEAF, "hld/config/common.yaml": _alias_chain(5000)},
    ),
    Case(
        "nesting-flow",
        GEN,
        "HLDError",
        # PyYAML 6.0.4's bundled libyaml refuses first, with its own words.
        r"invalid YAML: (collections nested more than 200 levels deep \(line 2\)|.*exceeded maximum nesting depth)",
        {"hld/component.yaml": "name: x\nconfig: " + "[" * 300_000 + "]" * 300_000 + "\n"},
    ),
    Case(
        "nesting-block",
        GEN,
        "HLDError",
        r"nested more than 200 levels deep",
        {"hld/component.yaml": "".join(f"{' ' * i}k{i}:\n" for i in range(400))},
    ),
    Case(
        "nesting-json",
        GEN,
        "HLDError",
        r"component\.json:1: invalid JSON: nested more than 200 levels deep",
        {"hld/component.json": "[" * 300_000 + "]" * 300_000},
    ),
    Case(
        "nesting-json-components",
        GEN,
        "HLDError",
        r"nested more than 200 levels deep",
        {
            "hld/component.json": '{"name": "x", "subcomponents": '
            + '[{"name": "y", "subcomponents": ' * 300
            + "[]"
            + "}]" * 300
            + "}"
        },
    ),
    Case(
        "file-over-limit",
        GEN,
        "HLDError",
        r"component\.yaml: larger than 4096 bytes \(the limit is set by \$FABPROMOTE_MAX_FILE_BYTES\)",
        {"hld/component.yaml": _big(8192)},
        env={"FABPROMOTE_MAX_FILE_BYTES": "4096"},
    ),
    Case(
        "file-over-default-limit",
        GEN,
        "HLDError",
        r"larger than 16777216 bytes",
        {"hld/component.yaml": _big(17 * 1024 * 1024)},
    ),
    Case(
        "config-over-limit",
        GUARD,
        "HLDError",
        r"fabpromote\.yaml: larger than 100 bytes",
        {"fabpromote.yaml": "name: e\nhld: h\nmanifests: m\n" + "#" * 200 + "\n"},
        env={"FABPROMOTE_MAX_FILE_BYTES": "100"},
    ),
    Case(
        "limit-setting-bad",
        GEN,
        "HLDError",
        r"\$FABPROMOTE_MAX_FILE_BYTES must be a positive number",
        {"hld/component.yaml": "name: x\n"},
        env={"FABPROMOTE_MAX_FILE_BYTES": "1e9"},
    ),
    # --- text that is not UTF-8 ------------------------------------------------------------
    Case(
        "yaml-latin1",
        GEN,
        "HLDError",
        r"component\.yaml: not UTF-8 text \(byte \d+\)",
        {"hld/component.yaml": "name: café\n".encode("latin-1")},
    ),
    Case(
        "json-latin1",
        GEN,
        "HLDError",
        r"component\.json: not UTF-8 text",
        {"hld/component.json": '{"name": "café"}'.encode("latin-1")},
    ),
    Case(
        "config-yaml-nul",
        GEN,
        "HLDError",
        r"common\.yaml: invalid YAML: control characters are not allowed",
        {"hld/component.yaml": LOCAL_LEAF, "hld/config/common.yaml": b"namespace: a\x00b\n"},
    ),
    Case(
        "cluster-latin1",
        GUARD,
        "HLDError",
        r"fabpromote\.yaml: not UTF-8 text",
        {"fabpromote.yaml": "name: caf\xe9\n".encode("latin-1")},
    ),
    # --- names that are not file names ---------------------------------------------------------
    Case(
        "name-slash",
        GEN,
        "UnsafePathError",
        r"subcomponent name .* 'a/b' is not a valid file name",
        {"hld/component.yaml": "name: root\nsubcomponents:\n  - {name: a/b, type: static, path: ./m}\n"},
    ),
    Case(
        "name-dotdot",
        GEN,
        "UnsafePathError",
        r"'\.\.' is not a valid file name",
        {"hld/component.yaml": "name: root\nsubcomponents:\n  - {name: '..', type: static, path: ./m}\n"},
    ),
    Case(
        "name-nul",
        GEN,
        "UnsafePathError",
        r"'a\\x00b' is not a valid file name",
        {"hld/component.json": _component(subcomponents=[{"name": "a\u0000b", "type": "static", "path": "./m"}])},
    ),
    Case(
        "name-root-traversal",
        GEN,
        "UnsafePathError",
        r"component name .* '\.\./\.\./x' is not a valid file name",
        {"hld/component.yaml": "name: ../../x\ntype: static\npath: ./m\n"},
    ),
    Case(
        "name-empty-subcomponent",
        GEN,
        "UnsafePathError",
        r"subcomponent name .* '' is not a valid file name",
        {"hld/component.yaml": "name: root\nsubcomponents:\n  - {type: static, path: ./m}\n"},
    ),
    Case(
        "name-option-injection",
        GEN,
        "UnsafePathError",
        r"'--post-renderer=sh' must not start with '-' \(it would be read as an option\)",
        {
            "hld/component.yaml": "name: root\nsubcomponents:\n  - {name: '--post-renderer=sh', type: helm, path: ./chart}\n"
        },
    ),
    Case(
        "env-option-injection",
        ("generate", "--path", "{work}/hld", "--", "-x"),
        "UnsafePathError",
        r"environment name '-x' must not start with '-'",
        {"hld/component.yaml": LOCAL_LEAF},
    ),
    Case(
        "env-traversal",
        ("generate", "../../x", "--path", "{work}/hld"),
        "UnsafePathError",
        r"environment name '\.\./\.\./x'",
        {"hld/component.yaml": LOCAL_LEAF},
    ),
    Case(
        "cluster-env-traversal",
        GUARD,
        "UnsafePathError",
        r"environment name .* '\.\./x' is not a valid file name",
        {"fabpromote.yaml": "name: e\nhld: h\nmanifests: m\nenvironments: [dev, ../x]\n"},
    ),
    Case(
        "cluster-name-slash",
        GUARD,
        "UnsafePathError",
        r"cluster name .* 'a/b'",
        {"fabpromote.yaml": "name: a/b\nhld: h\nmanifests: m\n"},
    ),
    Case(
        "duplicate-subcomponents",
        GEN,
        "UnsafePathError",
        r"two components would write a\.yaml \(duplicate names\)",
        {
            "hld/component.yaml": "name: root\nsubcomponents:\n  - {name: a, type: static, path: ./m}\n  - {name: a, type: static, path: ./m}\n",
            "hld/m/x.yaml": "a: 1\n",
        },
    ),
    # --- cycles -------------------------------------------------------------------------------
    Case(
        "cycle-self",
        GEN,
        "HLDError",
        r"component\.yaml \(subcomponents\.me\): cycle of local components",
        {"hld/component.yaml": "name: root\nsubcomponents:\n  - {name: me, source: ./}\n"},
    ),
    Case(
        "cycle-two",
        GEN,
        "HLDError",
        r"cycle of local components: .*hld -> .*b -> .*hld",
        {
            "hld/component.yaml": "name: root\nsubcomponents:\n  - {name: b, source: ./b}\n",
            "hld/b/component.yaml": "name: b\nsubcomponents:\n  - {name: a, source: ../}\n",
        },
    ),
    # --- hooks -------------------------------------------------------------------------------------
    Case(
        "hooks-root",
        GEN,
        "HooksNotAllowedError",
        r"has before-generate hooks, which run shell commands; pass --allow-hooks",
        {"hld/component.yaml": "name: root\nhooks:\n  before-generate: ['touch {work}/pwned']\n"},
    ),
    Case(
        "hooks-deep",
        GEN,
        "HooksNotAllowedError",
        r"component 'b' .* has after-generate hooks",
        {
            "hld/component.yaml": "name: root\nsubcomponents:\n  - {name: b, source: ./b}\n",
            "hld/b/component.yaml": "name: b\nhooks:\n  after-generate: ['touch {work}/pwned']\n",
        },
    ),
    Case(
        "hooks-fetched",
        GEN,
        "HooksNotAllowedError",
        r"component 'app' .* has before-generate hooks",
        {"hld/component.yaml": GIT_ROOT},
        setup=_app_with({"component.yaml": "name: app\nhooks:\n  before-generate: ['touch ../../pwned']\n"}),
    ),
    # --- paths out of a fetched snapshot ------------------------------------------------------
    Case(
        "fetched-path-dotdot",
        GEN,
        "UnsafePathError",
        r"component 'app/x' points outside the repository it was fetched from",
        {"hld/component.yaml": GIT_ROOT, "secret/component.yaml": "name: secret\n"},
        setup=_app_with(
            {
                "component.yaml": "name: app\nsubcomponents:\n  - {name: x, source: ./, path: ../../../../../../../secret}\n"
            }
        ),
    ),
    Case(
        "fetched-source-absolute",
        GEN,
        "UnsafePathError",
        r"component 'app/x' points outside",
        {"hld/component.yaml": GIT_ROOT, "secret/component.yaml": "name: secret\n"},
        setup=_app_with({"component.yaml": "name: app\nsubcomponents:\n  - {name: x, source: '{work}/secret'}\n"}),
    ),
    Case(
        "fetched-static-path-out",
        GEN,
        "UnsafePathError",
        r"component 'app/m' points outside",
        {"hld/component.yaml": GIT_ROOT},
        setup=_app_with({"component.yaml": "name: app\nsubcomponents:\n  - {name: m, type: static, path: /etc}\n"}),
    ),
    Case(
        "fetched-symlink-absolute",
        GEN,
        "UnsafePathError",
        r"symlink to '/etc' leads out of the snapshot",
        {"hld/component.yaml": GIT_ROOT},
        setup=_app_with({"component.yaml": "name: app\n"}, {"m": "/etc"}),
    ),
    Case(
        "fetched-symlink-relative",
        GEN,
        "UnsafePathError",
        r"symlink to '\.\./\.\./\.\./\.\./\.\./\.\./etc' leads out",
        {"hld/component.yaml": GIT_ROOT},
        setup=_app_with({"component.yaml": "name: app\n"}, {"m": "../../../../../../etc"}),
    ),
    Case(
        "fetched-symlink-chain",
        GEN,
        "UnsafePathError",
        r"symlink to 'a/\.\.' leads out",
        {"hld/component.yaml": GIT_ROOT},
        setup=_app_with({"component.yaml": "name: app\n"}, {"a": ".", "b": "a/.."}),
    ),
    # --- refs and URLs ----------------------------------------------------------------------------
    Case(
        "branch-shell-semicolon",
        GEN,
        "RefNotFoundError",
        r"no branch or tag named 'dev; touch .*pwned' \(branches: master\)",
        {"hld/component.yaml": GIT_ROOT.replace("branch: master", 'branch: "dev; touch {work}/pwned"')},
        setup=_app_with({"component.yaml": "name: app\n"}),
    ),
    Case(
        "branch-shell-substitution",
        GEN,
        "RefNotFoundError",
        r"no branch or tag named '\$\(touch .*\)`touch",
        {
            "hld/component.yaml": GIT_ROOT.replace(
                "branch: master", "branch: '$(touch {work}/pwned)`touch {work}/pwned2`'"
            )
        },
        setup=_app_with({"component.yaml": "name: app\n"}),
    ),
    Case(
        "branch-option-injection",
        GEN,
        "RefNotFoundError",
        r"no branch or tag named '--upload-pack=touch",
        {"hld/component.yaml": GIT_ROOT.replace("branch: master", "branch: '--upload-pack=touch {work}/pwned'")},
        setup=_app_with({"component.yaml": "name: app\n"}),
    ),
    Case(
        "cluster-branch-shell",
        MAT,
        "RefNotFoundError",
        r"cluster: no branch or tag named 'dev; touch .*pwned' \(branches: dev\)",
        {"fabpromote.yaml": CLUSTER + "environments: [{name: dev, hld_branch: 'dev; touch {work}/pwned'}]\n"},
        setup=_cluster_repo(),
    ),
    Case(
        "ref-abbreviated-sha",
        GEN,
        "RefNotFoundError",
        r"no branch, tag or commit named 'deadbeef'",
        {"hld/component.yaml": GIT_ROOT.replace("branch: master", "version: deadbeef")},
        setup=_app_with({"component.yaml": "name: app\n"}),
    ),
    Case(
        "ref-unknown-sha",
        GEN,
        "SourceError",
        r"cannot fetch commit 0{12}",
        {"hld/component.yaml": GIT_ROOT.replace("branch: master", "version: '" + "0" * 40 + "'")},
        setup=_app_with({"component.yaml": "name: app\n"}),
    ),
    Case(
        "url-credentials-git",
        GEN,
        "SourceError",
        r"http://\*\*\*@127\.0\.0\.1:9/app\.git: cannot list refs",
        {"hld/component.yaml": GIT_ROOT.replace("{work}/app", f"http://user:{SECRET}@127.0.0.1:9/app.git")},
        secrets=(SECRET,),
    ),
    Case(
        "url-credentials-cluster",
        MAT,
        "SourceError",
        r"https://\*\*\*@127\.0\.0\.1:9/c\.git: cannot list refs",
        {"fabpromote.yaml": f"name: e\nhld: https://{SECRET}@127.0.0.1:9/c.git\nmanifests: m\n"},
        secrets=(SECRET,),
    ),
    Case(
        "url-credentials-download",
        GEN,
        "DownloadError",
        r"cannot download http://\*\*\*@127\.0\.0\.1:9/m\.yaml",
        {
            "hld/component.yaml": f"name: root\nsubcomponents:\n  - {{name: d, type: static, method: http, source: 'http://u:{SECRET}@127.0.0.1:9/m.yaml'}}\n"
        },
        secrets=(SECRET,),
    ),
    Case(
        "download-announced-too-large",
        GEN,
        "DownloadError",
        r"cannot download http://127\.0\.0\.1:\d+/d\.yaml: larger than 1048576 bytes .*\(Content-Length 1099511627776\)",
        env=DOWNLOAD_LIMIT,
        setup=_download_from(content_length=1 << 40, body_bytes=0, stall=True),
    ),
    Case(
        "download-endless-body",
        GEN,
        "DownloadError",
        r"d\.yaml: larger than 1048576 bytes \(the limit is set by \$FABPROMOTE_MAX_DOWNLOAD_BYTES\)$",
        env=DOWNLOAD_LIMIT,
        setup=_download_from(content_length=None, body_bytes=None),
    ),
    Case(
        "download-limit-setting-bad",
        GEN,
        "HLDError",
        r"\$FABPROMOTE_MAX_DOWNLOAD_BYTES must be a positive number of bytes, not '-1'",
        {
            "hld/component.yaml": "name: root\nsubcomponents:\n  - {name: d, type: static, method: http, source: 'http://127.0.0.1:9/d.yaml'}\n"
        },
        env={"FABPROMOTE_MAX_DOWNLOAD_BYTES": "-1"},
    ),
    Case(
        "url-ssh-option",
        GEN,
        "SourceError",
        r"refusing an ssh host name that starts with '-'",
        {"hld/component.yaml": GIT_ROOT.replace("{work}/app", "ssh://-oProxyCommand=touch%20{work}%2Fpwned/x")},
    ),
    Case(
        "url-scp-option",
        GEN,
        "SourceError",
        r"refusing an ssh host name that starts with '-'",
        {"hld/component.yaml": GIT_ROOT.replace("{work}/app", "'-oProxyCommand=touch {work}/pwned:x'")},
    ),
    Case(
        "url-not-a-repo",
        GEN,
        "SourceError",
        r"cannot list refs: no Git repository there",
        {"hld/component.yaml": GIT_ROOT.replace("{work}/app", "'--upload-pack=touch {work}/pwned'")},
    ),
    Case(
        "url-missing-local",
        GEN,
        "HLDError",
        r"error loading component in .*nowhere",
        {"hld/component.yaml": "name: root\nsubcomponents:\n  - {name: a, source: ./nowhere}\n"},
    ),
    Case(
        "unknown-generator",
        GEN,
        "UnknownBackendError",
        r"no generator named 'evil' is installed",
        {"hld/component.yaml": "name: root\ntype: evil\n"},
    ),
]
