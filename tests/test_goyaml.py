"""go-yaml v2 compatible YAML: scalar resolution, key order, styles, folding.

Expected texts were produced by Go's gopkg.in/yaml.v2 (Marshal/Unmarshal).
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from fabpromote._hld import goyaml as _goyaml


def scalar(text: str) -> Any:
    """Load a plain scalar in value position."""
    return _goyaml.load(f"k: {text}\n")["k"]


class TestResolveBools:
    @pytest.mark.parametrize("text", ["y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"])
    def test_true_spellings(self, text: str) -> None:
        """YAML 1.1 spellings of true, y included, load as True."""
        assert scalar(text) is True

    @pytest.mark.parametrize("text", ["n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"])
    def test_false_spellings(self, text: str) -> None:
        """YAML 1.1 spellings of false, n included, load as False."""
        assert scalar(text) is False

    @pytest.mark.parametrize("text", ["yES", "tRUE", "Yes!", "nope"])
    def test_other_case_mixes_are_strings(self, text: str) -> None:
        """Only the listed spellings are booleans."""
        assert scalar(text) == text


class TestResolveNulls:
    @pytest.mark.parametrize("text", ["", "~", "null", "Null", "NULL"])
    def test_null_spellings(self, text: str) -> None:
        """Empty, ~ and the three null spellings load as None."""
        assert scalar(text) is None

    def test_nUll_is_a_string(self) -> None:
        """Other capitalisations of null are strings."""
        assert scalar("nUll") == "nUll"


class TestResolveInts:
    @pytest.mark.parametrize(
        ("text", "value"),
        [
            ("0", 0),
            ("42", 42),
            ("+42", 42),
            ("-42", -42),
            ("0x1F", 31),
            ("0X1f", 31),
            ("017", 15),
            ("0o17", 15),
            ("0b101", 5),
            ("-0b101", -5),
            ("1_000", 1000),
            ("0b+1", 1),
            ("-9223372036854775808", -(2**63)),
            ("18446744073709551615", 2**64 - 1),
        ],
    )
    def test_go_integer_syntax(self, text: str, value: int) -> None:
        """Integers follow Go's ParseInt(s, 0, 64), then ParseUint, underscores dropped."""
        result = scalar(text)
        assert type(result) is int
        assert result == value

    def test_beyond_uint64_becomes_float(self) -> None:
        """A decimal too large for uint64 falls back to a float."""
        assert scalar("18446744073709551616") == 1.8446744073709552e19

    def test_bad_octal_digit_falls_back_to_float(self) -> None:
        """08 is not octal, but matches the float pattern."""
        result = scalar("08")
        assert type(result) is float
        assert result == 8.0

    @pytest.mark.parametrize("text", ["0x", "0o8", "_1", "1:20", "1.2.3", "0xG"])
    def test_non_numbers_stay_strings(self, text: str) -> None:
        """Number-like text that Go cannot parse stays a string."""
        assert scalar(text) == text


class TestResolveFloats:
    @pytest.mark.parametrize(
        ("text", "value"),
        [("1.5", 1.5), ("1.", 1.0), (".5", 0.5), ("-.5", -0.5), ("1e3", 1000.0), ("1E-3", 0.001), ("1_0.5", 10.5)],
    )
    def test_float_syntax(self, text: str, value: float) -> None:
        """Floats match go-yaml's regexp and parse with ParseFloat."""
        result = scalar(text)
        assert type(result) is float
        assert result == value

    @pytest.mark.parametrize(("text", "value"), [(".inf", math.inf), ("+.Inf", math.inf), ("-.INF", -math.inf)])
    def test_infinities(self, text: str, value: float) -> None:
        """The .inf spellings load as infinities."""
        assert scalar(text) == value

    @pytest.mark.parametrize("text", [".nan", ".NaN", ".NAN"])
    def test_nan(self, text: str) -> None:
        """The .nan spellings load as NaN."""
        assert math.isnan(scalar(text))

    @pytest.mark.parametrize("text", ["1e999", ".inf.", "1e", ".e1"])
    def test_overflow_and_junk_stay_strings(self, text: str) -> None:
        """Go reports overflow as an error, so huge exponents stay strings."""
        assert scalar(text) == text


class TestResolveOther:
    @pytest.mark.parametrize(
        "text",
        ["2001-12-14", "2001-1-2", "2001-12-14T21:59:43.10-05:00", "2001-12-14 21:59:43.10", "2001-12-14t21:59:43Z"],
    )
    def test_timestamps_load_as_strings(self, text: str) -> None:
        """go-yaml v2 keeps timestamps decoded into interface{} as their text."""
        assert scalar(text) == text

    @pytest.mark.parametrize("text", ['"1"', "'true'", '"null"', "''", '"0x1F"', "!!str 12"])
    def test_quoted_and_str_tagged_scalars_are_strings(self, text: str) -> None:
        """Only plain scalars are resolved; quoted ones are always strings."""
        result = scalar(text)
        assert isinstance(result, str)

    def test_non_string_keys(self) -> None:
        """Keys resolve like values, so they may be ints, floats or None."""
        assert _goyaml.load("1: a\n2.5: b\n~: c\nx: d\n") == {1: "a", 2.5: "b", None: "c", "x": "d"}

    def test_merge_key(self) -> None:
        """<< merges a mapping; keys written after it win."""
        doc = _goyaml.load("base: &b {a: 1, b: 2}\nd:\n  <<: *b\n  b: 3\n")
        assert doc["d"] == {"a": 1, "b": 3}

    def test_merge_overrides_earlier_keys(self) -> None:
        """go-yaml v2 applies << where it stands, overriding keys before it."""
        assert _goyaml.load("a: 2\n<<: {a: 1}\n") == {"a": 1}

    def test_y_key_is_a_bool(self) -> None:
        """Keys resolve like values: y is true in go-yaml v2."""
        assert _goyaml.load("y: 1\n") == {True: 1}

    def test_merge_key_list(self) -> None:
        """With a list of maps, earlier maps take precedence."""
        doc = _goyaml.load("d:\n  <<: [{a: 1}, {a: 2, b: 3}]\n")
        assert doc["d"] == {"a": 1, "b": 3}

    def test_aliases_are_independent_copies(self) -> None:
        """Like go-yaml, every alias use is a fresh value."""
        doc = _goyaml.load("a: &x {k: v}\nb: *x\n")
        doc["b"]["k"] = "changed"
        assert doc["a"] == {"k": "v"}

    def test_only_first_document(self) -> None:
        """Unmarshal reads the first document of a stream."""
        assert _goyaml.load("a: 1\n---\nb: 2\n") == {"a": 1}

    @pytest.mark.parametrize("text", ["", "# just a comment\n", b""])
    def test_empty_stream_is_none(self, text: str | bytes) -> None:
        """No document at all loads as None."""
        assert _goyaml.load(text) is None

    def test_bytes_input(self) -> None:
        """UTF-8 bytes are accepted."""
        assert _goyaml.load("é: ü\n".encode()) == {"é": "ü"}

    @pytest.mark.parametrize("text", ["a: [1, 2", "a: b: c", "k: !!int abc", "a: &x [*x]", "[a]: b"])
    def test_bad_input_raises_yaml_error(self, text: str) -> None:
        """Syntax errors and undecodable values raise PyYAML's YAMLError."""
        with pytest.raises(yaml.YAMLError):
            _goyaml.load(text)


class TestFloatFormatting:
    @pytest.mark.parametrize(
        ("value", "text"),
        [
            (1.0, "1"),
            (1.5, "1.5"),
            (1e6, "1e+06"),
            (123456.0, "123456"),
            (1234567.0, "1.234567e+06"),
            (1e-05, "1e-05"),
            (0.0001, "0.0001"),
            (0.1, "0.1"),
            (-0.0, "-0"),
            (1e21, "1e+21"),
            (5e-324, "5e-324"),
            (-2.5e-10, "-2.5e-10"),
            (math.inf, ".inf"),
            (-math.inf, "-.inf"),
            (math.nan, ".nan"),
        ],
    )
    def test_go_g_format(self, value: float, text: str) -> None:
        """Floats print like strconv.FormatFloat(f, 'g', -1, 64)."""
        assert _goyaml.dump(value) == text + "\n"

    def test_ints_bools_and_none(self) -> None:
        """Ints are decimal, bools true/false, None null."""
        assert _goyaml.dump([-(2**63), 2**64 - 1, True, False, None]) == (
            "- -9223372036854775808\n- 18446744073709551615\n- true\n- false\n- null\n"
        )


class TestKeyOrder:
    def test_natural_numeric_order(self) -> None:
        """Digit runs compare as numbers: a2 sorts before a10."""
        assert _goyaml.dump({"a10": 1, "a2": 2, "a1": 3}) == "a1: 3\na2: 2\na10: 1\n"

    def test_leading_zeros(self) -> None:
        """Equal numbers with more leading zeros sort later."""
        keys = {"a01": 1, "a1": 2, "a001": 3, "a10": 4, "a9": 5, "a010": 6}
        assert _goyaml.dump(keys) == "a1: 2\na01: 1\na001: 3\na9: 5\na10: 4\na010: 6\n"

    def test_numbers_before_null_before_strings(self) -> None:
        """Numbers and bools sort by value, then null, then strings."""
        keys = {False: 1, 2: 2, 1.5: 3, "b": 4, "a": 5, None: 6, -1: 7}
        assert _goyaml.dump(keys) == "-1: 7\nfalse: 1\n1.5: 3\n2: 2\nnull: 6\na: 5\nb: 4\n"

    def test_non_letters_before_letters(self) -> None:
        """At the first difference, punctuation and digits sort before letters."""
        keys = {"a-b": 1, "ab": 2, "a_b": 3, "aB": 4, "a b": 5, "a1": 6}
        assert _goyaml.dump(keys) == "a b: 5\na-b: 1\na_b: 3\na1: 6\naB: 4\nab: 2\n"

    def test_cyclic_key_sets_are_reproducible(self) -> None:
        """go-yaml's order is cyclic for some keys; ours ignores insertion order."""
        keys = ["v1beta1", "v1", "v10", "v2", "v1alpha1"]
        forward = _goyaml.dump(dict.fromkeys(keys, 0))
        assert _goyaml.dump(dict.fromkeys(reversed(keys), 0)) == forward

    def test_unsupported_key_type(self) -> None:
        """Keys must be scalars."""
        with pytest.raises(TypeError):
            _goyaml.dump({(1, 2): "x"})


class TestStringStyles:
    @pytest.mark.parametrize(
        "text",
        [
            "yes",
            "Y",
            "n",
            "true",
            "1",
            "1.5",
            "null",
            "",
            "~",
            "2001-01-01",
            "1:20",
            "0x1F",
            "0o17",
            "1e3",
            ".inf",
            "1_000",
        ],
    )
    def test_strings_that_would_resolve_are_double_quoted(self, text: str) -> None:
        """Strings that would read back as another type are double-quoted."""
        assert _goyaml.dump(text) == f'"{text}"\n'

    @pytest.mark.parametrize("text", ["hello world", "a:b", "<<", "1.2.3", "v1", ":a", "a#b", "é", "2001-02-30", "0o8"])
    def test_safe_strings_are_plain(self, text: str) -> None:
        """Strings that stay strings unquoted are written plain."""
        assert _goyaml.dump(text) == f"{text}\n"

    @pytest.mark.parametrize(
        ("text", "out"),
        [
            ("- a", "'- a'"),
            ("'quoted'", "'''quoted'''"),
            ("#comment", "'#comment'"),
            ("a: b", "'a: b'"),
            (" lead", "' lead'"),
            ("trail ", "'trail '"),
            ("a #b", "'a #b'"),
            ("*a", "'*a'"),
            ("---", "'---'"),
        ],
    )
    def test_plain_unsafe_strings_are_single_quoted(self, text: str, out: str) -> None:
        """When plain style would misparse, the emitter falls back to single quotes."""
        assert _goyaml.dump(text) == out + "\n"

    @pytest.mark.parametrize(
        ("text", "out"),
        [
            ("tab\there", r'"tab\there"'),
            ("😀", r'"\U0001F600"'),
            ("a\x00b", r'"a\0b"'),
            ("bell\x07", r'"bell\a"'),
            ("\x85", r'"\N"'),
            ("\ufeffab", r'"\uFEFF\x61\x62"'),
        ],
    )
    def test_special_characters_are_escaped(self, text: str, out: str) -> None:
        """Non-printable (to libyaml) characters force escaped double quotes."""
        assert _goyaml.dump(text) == out + "\n"

    @pytest.mark.parametrize(
        ("text", "out"),
        [
            ("a\nb", "k: |-\n  a\n  b\n"),
            ("a\n", "k: |\n  a\n"),
            ("a\n\n", "k: |+\n  a\n\n"),
            (" lead\nx", "k: |2-\n   lead\n  x\n"),
            ("a\n b", "k: |-\n  a\n   b\n"),
        ],
    )
    def test_multiline_strings_are_literal_blocks(self, text: str, out: str) -> None:
        """Strings with a newline use a literal block with chomping hints."""
        assert _goyaml.dump({"k": text}) == out

    @pytest.mark.parametrize(("text", "out"), [("a \nb", r'k: "a \nb"'), ("a\tb\nc", r'k: "a\tb\nc"')])
    def test_multiline_strings_fall_back_to_double_quotes(self, text: str, out: str) -> None:
        """A space before a newline or a tab rules out block style."""
        assert _goyaml.dump({"k": text}) == out + "\n"

    def test_unicode_is_written_raw(self) -> None:
        """Printable non-ASCII characters are not escaped."""
        assert _goyaml.dump({"ключ": "значение"}) == "ключ: значение\n"

    def test_long_key_is_complex(self) -> None:
        """Keys over 128 UTF-8 bytes use the explicit ? form."""
        assert _goyaml.dump({"x" * 128: 1}) == "x" * 128 + ": 1\n"
        assert _goyaml.dump({"é" * 65: 1}) == "? " + "é" * 65 + "\n: 1\n"


class TestCollections:
    def test_empty_map_and_list(self) -> None:
        """Empty collections use flow style."""
        assert _goyaml.dump({}) == "{}\n"
        assert _goyaml.dump([]) == "[]\n"
        assert _goyaml.dump({"a": {}, "b": []}) == "a: {}\nb: []\n"

    def test_sequences_in_mappings_are_not_indented(self) -> None:
        """Sequences inside mappings start at the key's column."""
        value = {"a": [1, {"b": 2, "c": 3}, [4, 5]]}
        assert _goyaml.dump(value) == "a:\n- 1\n- b: 2\n  c: 3\n- - 4\n  - 5\n"

    def test_nested_mapping_indent(self) -> None:
        """Nested mappings indent by two spaces."""
        assert _goyaml.dump({"a": {"b": {"c": 1}}}) == "a:\n  b:\n    c: 1\n"

    def test_top_level_scalars_have_no_document_end(self) -> None:
        """Marshal never writes a trailing '...' marker."""
        assert _goyaml.dump("abc") == "abc\n"
        assert _goyaml.dump(None) == "null\n"
        assert _goyaml.dump("a\nb") == "|-\n  a\n  b\n"

    def test_unsupported_value_type(self) -> None:
        """Values go-yaml could not produce are rejected."""
        with pytest.raises(TypeError):
            _goyaml.dump({"a": object()})


class TestFolding:
    def test_plain_folds_after_column_80(self) -> None:
        """Plain scalars break at the first space past column 80."""
        words = " ".join(["word"] * 30)
        assert _goyaml.dump({"key": words}) == (
            "key: " + " ".join(["word"] * 16) + "\n  " + " ".join(["word"] * 14) + "\n"
        )

    def test_double_quoted_folds_without_escape(self) -> None:
        """libyaml folds double-quoted text at a space, with no trailing backslash."""
        text = " ".join(["wörd😀"] * 8)
        line = " ".join([r"wörd\U0001F600"] * 6)
        assert _goyaml.dump({"key": text}) == f'key: "{line}\n  ' + " ".join([r"wörd\U0001F600"] * 2) + '"\n'

    def test_single_quoted_folds(self) -> None:
        """Single-quoted scalars fold the same way."""
        text = "'" + " ".join(["word"] * 30)
        assert _goyaml.dump({"key": text}) == (
            "key: '''" + " ".join(["word"] * 15) + "\n  " + " ".join(["word"] * 15) + "'\n"
        )

    def test_double_spaces_do_not_fold(self) -> None:
        """Runs of spaces are never folded in plain scalars."""
        text = "  ".join(["word"] * 30)
        assert _goyaml.dump({"key": text}) == f"key: {text}\n"

    def test_long_keys_fold_only_in_complex_form(self) -> None:
        """A simple key never folds; a long key is written with ? and folds."""
        key = " ".join(["word"] * 30)
        assert _goyaml.dump({key: 1}) == ("? " + " ".join(["word"] * 16) + "\n  " + " ".join(["word"] * 14) + "\n: 1\n")


json_scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**64 - 1), st.text())
# go-yaml writes a "<<" key plain, so it reads back as a merge key: excluded.
json_keys = st.text().filter(lambda key: key != "<<")
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(json_keys, inner, max_size=4)),
    max_leaves=20,
)


class TestRoundTrip:
    @given(json_values)
    def test_dump_then_load_is_identity(self, value: Any) -> None:
        """Loading what dump wrote gives the same JSON-like value back."""
        assert _goyaml.load(_goyaml.dump(value)) == value

    @given(json_values)
    def test_dump_ends_with_newline(self, value: Any) -> None:
        """Like Marshal, the output is newline-terminated."""
        assert _goyaml.dump(value).endswith("\n")
