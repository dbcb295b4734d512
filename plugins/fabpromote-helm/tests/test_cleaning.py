"""Fabrikate's cleaning of helm output and its namespace injection, on crafted text."""

from __future__ import annotations

import pytest
from fabpromote_helm._cleaning import clean, inject_namespace, split


class TestSplit:
    def test_compat_cuts_at_every_newline_dashes(self) -> None:
        """compat splits on the literal "\\n---", even inside a line that starts with dashes."""
        assert split("a: 1\n---b: 2\n--- \nc: 3", "compat") == ["a: 1", "b: 2", " \nc: 3"]

    def test_documents_cuts_only_at_markers(self) -> None:
        """documents keeps lines that merely start with three dashes."""
        assert split("a: 1\n---b: 2\n--- \nc: 3\n---\nd: 4\n---", "documents") == [
            "a: 1\n---b: 2",
            " \nc: 3",
            "\nd: 4",
            "",
        ]


class TestClean:
    def test_keeps_non_empty_maps_verbatim(self) -> None:
        """Kept chunks are emitted as "---\\n" + chunk + "\\n", comments and all."""
        output = "---\n# Source: a.yaml\nkind: A\n---\n# Source: b.yaml\nkind: B\n"
        assert clean(output) == "---\n---\n# Source: a.yaml\nkind: A\n---\n\n# Source: b.yaml\nkind: B\n\n"

    @pytest.mark.parametrize(
        "chunk",
        ["- a\n- b", "just a string", "42", "# only a comment", "", "{}", "key: [unclosed", "\t: bad"],
    )
    def test_drops_what_is_not_a_non_empty_map(self, chunk: str) -> None:
        """Lists, scalars, comments, empty maps and parse failures are dropped."""
        assert clean(f"kind: A\n---\n{chunk}\n---\nkind: B") == "---\nkind: A\n---\n\nkind: B\n"

    def test_warning_line_is_a_map(self) -> None:
        """helm v3's warning line parses as a map, so it is kept (Fabrikate's defect)."""
        assert clean("WARNING: This chart is deprecated\n---\nkind: A\n").startswith(
            "---\nWARNING: This chart is deprecated\n---\n"
        )

    def test_helm_v4_warning_line_is_dropped(self) -> None:
        """helm v4's slog warning line is a plain string, so it is dropped."""
        assert clean('level=WARN msg="this chart is deprecated"\n---\nkind: A\n') == "---\n\nkind: A\n\n"

    def test_documents_mode_keeps_a_dashed_key_in_its_document(self) -> None:
        """A top-level key starting with dashes tears the document in compat mode only."""
        output = "kind: A\n---name: x\n"
        assert clean(output, "compat") == "---\nkind: A\n---\nname: x\n\n"
        assert clean(output, "documents") == "---\nkind: A\n---name: x\n\n"


class TestInjectNamespace:
    def test_adds_missing_namespace_and_keeps_existing(self) -> None:
        """metadata.namespace is set where missing or null, never overwritten."""
        cleaned = clean(
            "kind: A\nmetadata:\n  name: a\n---\nkind: B\nmetadata:\n  name: b\n  namespace: other\n"
            "---\nkind: C\nmetadata:\n  namespace: null\n"
        )
        assert inject_namespace(cleaned, "team") == (
            "---\nkind: A\nmetadata:\n  name: a\n  namespace: team\n\n"
            "---\nkind: B\nmetadata:\n  name: b\n  namespace: other\n\n"
            "---\nkind: C\nmetadata:\n  namespace: team\n\n"
        )

    def test_documents_without_map_metadata_are_only_reserialized(self) -> None:
        """No metadata, or a metadata that is not a map, gets no namespace."""
        cleaned = clean("kind: A\n---\nkind: B\nmetadata: text\n")
        assert inject_namespace(cleaned, "team") == "---\nkind: A\n\n---\nkind: B\nmetadata: text\n\n"

    def test_comments_dropped_keys_sorted(self) -> None:
        """Re-serialization drops comments and sorts keys, as go-yaml v2 does."""
        cleaned = clean("# Source: x\nkind: A\napiVersion: v1\nmetadata:\n  name: a # trailing\n")
        assert inject_namespace(cleaned, "team") == (
            "---\napiVersion: v1\nkind: A\nmetadata:\n  name: a\n  namespace: team\n\n"
        )

    def test_namespace_that_reads_as_a_bool_is_quoted(self) -> None:
        """go-yaml v2 quotes a namespace such as "n" or "yes" that YAML 1.1 reads as a bool."""
        expected = '---\nmetadata:\n  name: a\n  namespace: "n"\n\n'
        assert inject_namespace(clean("metadata:\n  name: a\n"), "n") == expected

    def test_trailing_block_scalar_turns_strip(self) -> None:
        """A chunk's block scalar loses its last newline in the split, so | becomes |-."""
        cleaned = clean("kind: A\ndata:\n  s: |\n    one\n    two\n---\nkind: B\n")
        assert inject_namespace(cleaned, "n").startswith("---\ndata:\n  s: |-\n    one\n    two\nkind: A\n\n")

    def test_empty_input_gives_empty_output(self) -> None:
        """Nothing kept, nothing written."""
        assert inject_namespace(clean(""), "n") == ""
