"""Plain component files read without PyYAML: the same component as go-yaml's rules, or no answer."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fabpromote import Component, load_component
from fabpromote._hld import convert, plain
from fabpromote.exceptions import HLDError

if TYPE_CHECKING:
    from tests.conftest import WriteTree

FILE = Path("component.yaml")
FIELDS = ("name", "type", "generator", "source", "method", "path", "branch", "version")


def full_path(data: bytes) -> tuple[Component, tuple[str, ...]] | None:
    """What go-yaml's rules make of ``data`` as a component file (None: an error)."""
    try:
        return convert.component_from_file(FILE, data)
    except HLDError:
        return None


def assert_same_or_declined(data: bytes) -> Component | None:
    """The plain reader declines ``data`` or gives exactly the full path's component, without warnings."""
    found = plain.component(data)
    if found is not None:
        assert full_path(data) == (found, ())
    return found


# Documents of the plain shape: the reader must answer them, as the full path does.

_safe_scalars = st.from_regex(r"[A-Za-z0-9_./][A-Za-z0-9_./:@+=~-]{0,12}", fullmatch=True).filter(
    lambda text: not text.endswith(":") and text not in ("null", "Null", "NULL")
)


@st.composite
def _field_lines(draw: st.DrawFn) -> list[str]:
    keys = draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=len(FIELDS), unique=True))
    return [f"{key}: {draw(_safe_scalars)}" for key in keys]


@st.composite
def plain_documents(draw: st.DrawFn) -> str:
    lines = draw(_field_lines())
    if draw(st.booleans()):
        dash = " " * draw(st.integers(0, 4)) + "- "
        entries = []
        for entry in draw(st.lists(_field_lines(), min_size=1, max_size=4)):
            entries.append(dash + entry[0])
            entries.extend(" " * len(dash) + line for line in entry[1:])
        at = draw(st.integers(0, len(lines)))
        lines[at:at] = ["subcomponents:", *entries]
    return "\n".join(lines) + ("\n" if draw(st.booleans()) else "")


@settings(max_examples=300, deadline=None)
@given(plain_documents())
def test_plain_documents_are_read_as_go_yaml_reads_them(text: str) -> None:
    data = text.encode()
    assert plain.component(data) is not None, text
    assert assert_same_or_declined(data) is not None


# Anything near that shape: the reader declines, or agrees with the full path.

_pieces = st.sampled_from(
    [
        *FIELDS,
        "subcomponents",
        "hooks",
        "repositories",
        "unknown",
        "Name",
        ": ",
        ":",
        ":  ",
        " :",
        ":\t",
        "- ",
        "-",
        "  ",
        " ",
        "\t",
        "\n",
        "\r\n",
        "#",
        " #x",
        "'",
        '"',
        "[",
        "]",
        "{",
        "}",
        ",",
        "&a",
        "*a",
        "!",
        "!!str ",
        "|",
        ">",
        "%",
        "@",
        "?",
        "~",
        "null",
        "NULL",
        "yes",
        "1.10",
        "0x1F",
        "---",
        "...",
        "./apps/a",
        "https://example.com/x.git",
        "é",
        "\ufeff",
        "\x00",
    ]
)


@st.composite
def near_plain_documents(draw: st.DrawFn) -> str:
    """A plain document with a few pieces of YAML syntax put in at random places."""
    text = draw(plain_documents())
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(_pieces) + text[at:]
    return text


@settings(max_examples=1500, deadline=None)
@given(st.one_of(near_plain_documents(), st.lists(_pieces, max_size=12).map("".join)))
def test_other_documents_are_declined_or_read_alike(text: str) -> None:
    assert_same_or_declined(text.encode("utf-8", "surrogatepass"))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n",
        "name: a\n\ntype: static\n",  # a blank line
        "name: a # comment\n",
        "name: 'a'\n",
        'name: "a"\n',
        "name: null\n",
        "name: ~\n",
        "name:\n",
        "name:  a\n",
        "name: a \n",
        "name: a\r\n",
        "name:\ta\n",
        "name: a\nname: b\n",
        "name: a:\n",
        "name: a: b\n",
        "name: [a]\n",
        "name: &x a\n",
        "name: !!str a\n",
        "name: é\n",
        "---\nname: a\n",
        "name: a\n...\n",
        "unknown: a\n",
        "hooks: {}\n",
        "subcomponents:\n",
        "subcomponents: []\n",
        "subcomponents:\n- name: a\n  - name: b\n",
        "subcomponents:\n  - name: a\n   type: static\n",
        "subcomponents:\n  - name: a\n    subcomponents:\n      - name: b\n",
        "subcomponents:\n- name: a\nsubcomponents:\n- name: b\n",
    ],
)
def test_the_reader_declines_what_is_not_its_shape(text: str) -> None:
    assert plain.component(text.encode()) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "name: app-0001\ntype: static\npath: ./manifests\n",
            Component(name="app-0001", type="static", path="./manifests"),
        ),
        (
            "name: fleet\nsubcomponents:\n  - name: a\n    source: ./apps/a\n  - name: b\n    method: git\n"
            "    source: https://example.com/b.git\n    branch: main\ntype: component",
            Component(
                name="fleet",
                type="component",
                subcomponents=(
                    Component(name="a", source="./apps/a"),
                    Component(name="b", method="git", source="https://example.com/b.git", branch="main"),
                ),
            ),
        ),
        (
            "subcomponents:\n- name: a\n  version: 1.10\nname: root\n",
            Component(name="root", subcomponents=(Component(name="a", version="1.10"),)),
        ),
    ],
)
def test_plain_files_are_read(text: str, expected: Component) -> None:
    assert assert_same_or_declined(text.encode()) == expected


def test_load_component_reads_a_plain_file(write_tree: WriteTree) -> None:
    hld = write_tree({"component.yaml": "name: app\ntype: static\npath: ./manifests\n"})
    assert load_component(hld) == Component(name="app", type="static", path="./manifests")
