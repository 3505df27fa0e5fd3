"""``label_map.pbtxt``: read and write the TF OD API's ``StringIntLabelMap`` in protobuf text format.

The reader is a small hand-written tokenizer and recursive-descent parser for protobuf text format, so label
maps written by hand, by the TF OD API, by Datumaro/CVAT or by Open Images tools all read the same way:

- ``item { ... }``, ``item: { ... }`` and ``item < ... >``; fields in any order; ``,`` or ``;`` after a field;
- strings in single or double quotes with protobuf's escapes (``\\n \\t \\\\ \\' \\" \\a \\b \\f \\v \\?``,
  octal ``\\NNN``, hex ``\\xNN``, ``\\uXXXX``, ``\\UXXXXXXXX``; octal and hex escapes are bytes, the whole
  string must be UTF-8), adjacent strings concatenated (``"a" "b"``), ``#`` comments;
- unknown fields are skipped, whatever their shape (``frequency: FREQUENT``, ``ancestor_ids: [1, 2]``,
  ``[ext.field] { }``);
- an item's ``keypoints { id: 0 label: "nose" }`` blocks (the OD API's ``KeypointMap``) are the label's point
  names, ordered by their ids (0-based point indices, as the OD API's keypoint configs number them); the writer
  writes them back the same way. A skeleton has no place in ``label_map.pbtxt``.

Choices (documented behaviour, tested):

- an unquoted name (``name: person``) is read literally as the name — protobuf itself rejects it, Datumaro
  reads it as nothing; being lenient here loses nothing and the writer always quotes;
- an item without ``name`` is named by its ``display_name``, else ``label_<id>``; an item without ``id`` is an
  error;
- ids are kept exactly as written (gaps such as 1, 3 are never renumbered);
- id 0 is kept only for ``background`` (by name or display name), as the OD API's ``label_map_util`` allows;
  id 0 for any other label is an error whose message suggests the fix (0-based label maps, e.g. FiftyOne's,
  must be shifted by one: "warn, do not guess");
- negative ids, ids beyond int32, duplicate ids, duplicate names, an empty name, a field given twice in one item
  and any syntax error raise :class:`~tfodkit.errors.LabelMapError` naming the file, the line and the column.

The writer emits ``item {\\n  id: 1\\n  name: 'car'\\n}`` blocks, escaping names so that protobuf's own
``text_format.Parse`` reads back exactly the same string: backslash, quotes and control characters are
escaped, any other character (``自行车``) is written as UTF-8.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from tfodkit.errors import FormatError, LabelMapError
from tfodkit.model import Label, LabelMap

BACKGROUND = "background"
_INT32_MAX = 2**31 - 1
_MAX_NESTING = 100  # a label map nests 2-3 levels; deeper input is hostile (fuzzing found a RecursionError)


# --------------------------------------------------------------------------------------------- public API
def parse_label_map(text: str | bytes, path: str | None = None) -> LabelMap:
    """Parse the text of a ``label_map.pbtxt`` into a :class:`LabelMap` (``path`` only names it in errors).

    Example:
        >>> label_map = parse_label_map("item { id: 1 name: 'car' } item { name: \\"person\\" id: 3 }")
        >>> [(label.id, label.name) for label in label_map]
        [(1, 'car'), (3, 'person')]
    """
    if isinstance(text, (bytes, bytearray, memoryview)):
        text = _decode_utf8(bytes(text), path)
    if text.startswith("\ufeff"):  # a BOM from Windows editors
        text = text[1:]
    tokens = _Tokenizer(text, path).tokens()
    fields = _Parser(tokens, path).parse_document()
    return _build_label_map(fields, path)


def read_label_map(path: str | os.PathLike[str]) -> LabelMap:
    """Read a ``label_map.pbtxt`` from a local path or an fsspec URL (UTF-8, a BOM tolerated).

    Example:
        >>> import tempfile, os
        >>> target = os.path.join(tempfile.mkdtemp(), "label_map.pbtxt")
        >>> _ = open(target, "w").write("item {\\n  id: 1\\n  name: 'cat'\\n}\\n")
        >>> read_label_map(target).names
        ['cat']
    """
    from tfodkit.storage import read_bytes

    where = str(path)
    try:
        data = read_bytes(path)
    except FormatError as error:  # a missing label map is a label-map problem for the caller
        raise LabelMapError(error.message, path=where) from None
    return parse_label_map(_decode_utf8(data, where), path=where)


def format_label_map(label_map: LabelMap) -> str:
    """The ``label_map.pbtxt`` text of ``label_map``: one ``item`` block per label, in the map's order.

    Example:
        >>> print(format_label_map(LabelMap.from_names(["car", "it's"])), end="")
        item {
          id: 1
          name: 'car'
        }
        <BLANKLINE>
        item {
          id: 2
          name: 'it\\'s'
        }
    """
    blocks = []
    for label in label_map:
        lines = ["item {", f"  id: {int(label.id)}", f"  name: {quote_string(label.name)}"]
        if label.display_name is not None:
            lines.append(f"  display_name: {quote_string(label.display_name)}")
        for index, point in enumerate(label.keypoints):
            lines.append(f"  keypoints {{\n    id: {index}\n    label: {quote_string(point)}\n  }}")
        lines.append("}")
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def write_label_map(label_map: LabelMap, path: str | os.PathLike[str]) -> None:
    """Write ``label_map`` as ``label_map.pbtxt`` (UTF-8) at ``path``, atomically.

    Example:
        >>> import tempfile, os
        >>> target = os.path.join(tempfile.mkdtemp(), "label_map.pbtxt")
        >>> write_label_map(LabelMap.from_names(["cat"]), target)
        >>> read_label_map(target) == LabelMap.from_names(["cat"])
        True
    """
    from tfodkit.storage import atomic_file

    data = format_label_map(label_map).encode("utf-8")
    with atomic_file(path) as out:
        out.write(data)


def quote_string(value: str) -> str:
    """``value`` as a single-quoted protobuf text-format string literal.

    Backslash, both quotes, ``\\n \\r \\t`` get their short escapes; other control and line-separator
    characters are written as octal escapes of their UTF-8 bytes; everything else is written as is (UTF-8).

    Example:
        >>> print(quote_string('a"b\\\\c\\n自'))
        'a\\"b\\\\c\\n自'
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise LabelMapError(f"label name {value!r} is not valid Unicode (lone surrogate)") from None
    parts = ["'"]
    for char in value:
        short = _SHORT_ESCAPES.get(char)
        if short is not None:
            parts.append(short)
        elif unicodedata.category(char) in _ESCAPED_CATEGORIES:
            parts.append("".join(f"\\{byte:03o}" for byte in char.encode("utf-8")))
        else:
            parts.append(char)
    parts.append("'")
    return "".join(parts)


_SHORT_ESCAPES = {"\\": "\\\\", "'": "\\'", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Control characters (C0, DEL, C1) and line/paragraph separators: tools that split lines on them
# (str.splitlines, editors) must not break a name apart, so they are escaped.
_ESCAPED_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})


def _decode_utf8(data: bytes, path: str | None) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise LabelMapError(f"column {column}: the file is not UTF-8 text", path=path, line=line) from None


# --------------------------------------------------------------------------------------------- tokenizer
@dataclass(frozen=True)
class _Token:
    kind: str  # "identifier", "number", "string", "symbol", "end"
    text: str  # the source text (for a string token: the literal with its quotes)
    line: int
    column: int
    value: bytes = b""  # the unescaped bytes of a string token

    def describe(self) -> str:
        return "the end of the file" if self.kind == "end" else repr(self.text)


_WHITESPACE = frozenset(" \t\r\n\v\f")
_SYMBOLS = frozenset("{}<>[]:,;-/.")
_SIMPLE_ESCAPES = {
    "a": 0x07,
    "b": 0x08,
    "f": 0x0C,
    "n": 0x0A,
    "r": 0x0D,
    "t": 0x09,
    "v": 0x0B,
    "\\": 0x5C,
    "'": 0x27,
    '"': 0x22,
    "?": 0x3F,
}
_OCTAL = frozenset("01234567")
_HEX = frozenset("0123456789abcdefABCDEF")


class _Tokenizer:
    """Splits protobuf text format into tokens, tracking line and column (both 1-based)."""

    def __init__(self, text: str, path: str | None) -> None:
        self.text = text
        self.path = path
        self.position = 0
        self.line = 1
        self.line_start = 0

    def error(self, message: str, position: int | None = None) -> LabelMapError:
        at = self.position if position is None else position
        line = self.text.count("\n", 0, at) + 1
        column = at - (self.text.rfind("\n", 0, at) + 1) + 1
        return LabelMapError(f"column {column}: {message}", path=self.path, line=line)

    def tokens(self) -> list[_Token]:
        return list(self._scan())

    def _column(self, position: int) -> int:
        return position - self.line_start + 1

    def _scan(self) -> Iterator[_Token]:
        text = self.text
        length = len(text)
        while True:
            self._skip_space_and_comments()
            start = self.position
            if start >= length:
                yield _Token("end", "", self.line, self._column(start))
                return
            char = text[start]
            if char.isalpha() or char == "_":
                yield self._identifier()
            elif char.isdigit() and char.isascii() or (char == "." and text[start + 1 : start + 2].isdigit()):
                yield self._number()
            elif char in "'\"":
                yield self._string()
            elif char in _SYMBOLS:
                self.position += 1
                yield _Token("symbol", char, self.line, self._column(start))
            else:
                raise self.error(f"unexpected character {char!r} (U+{ord(char):04X})")

    def _skip_space_and_comments(self) -> None:
        text = self.text
        length = len(text)
        while self.position < length:
            char = text[self.position]
            if char == "\n":
                self.position += 1
                self.line += 1
                self.line_start = self.position
            elif char in _WHITESPACE:
                self.position += 1
            elif char == "#":
                end = text.find("\n", self.position)
                self.position = length if end < 0 else end
            else:
                return

    def _identifier(self) -> _Token:
        # Like protobuf's Python tokenizer, '-' and '+' may follow the first character; letters may be any
        # Unicode letters so an unquoted name such as ``name: 自行车`` is read (leniently) too.
        text = self.text
        start = self.position
        end = start + 1
        while end < len(text) and (text[end].isalnum() or text[end] in "_-+"):
            end += 1
        self.position = end
        return _Token("identifier", text[start:end], self.line, self._column(start))

    def _number(self) -> _Token:
        text = self.text
        start = self.position
        end = start
        is_hex = text[start : start + 2].lower() == "0x"
        while end < len(text):
            char = text[end]
            if char.isascii() and (char.isalnum() or char in "_."):
                end += 1
            elif char in "+-" and not is_hex and text[end - 1] in "eE":
                end += 1
            else:
                break
        self.position = end
        return _Token("number", text[start:end], self.line, self._column(start))

    def _string(self) -> _Token:
        text = self.text
        start = self.position
        quote = text[start]
        out = bytearray()
        position = start + 1
        while True:
            if position >= len(text) or text[position] == "\n":
                raise self.error("string is not closed on its line (a missing quote?)", start)
            char = text[position]
            if char == quote:
                position += 1
                break
            if char != "\\":
                out += char.encode("utf-8", "surrogatepass")
                position += 1
                continue
            position = self._escape(position, out)
        self.position = position
        return _Token("string", text[start:position], self.line, self._column(start), bytes(out))

    def _escape(self, position: int, out: bytearray) -> int:
        """Append the bytes of the escape starting at ``text[position] == '\\'``; return the next position."""
        text = self.text
        kind = text[position + 1 : position + 2]
        if not kind or kind == "\n":
            raise self.error("a backslash ends the line inside a string", position)
        if kind in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[kind])
            return position + 2
        if kind in _OCTAL:
            end = position + 1
            while end < position + 4 and end < len(text) and text[end] in _OCTAL:
                end += 1
            value = int(text[position + 1 : end], 8)
            if value > 0xFF:
                raise self.error(f"octal escape {text[position:end]!r} is larger than a byte", position)
            out.append(value)
            return end
        if kind in "xX":
            end = position + 2
            while end < position + 4 and end < len(text) and text[end] in _HEX:
                end += 1
            if end == position + 2:
                raise self.error("\\x must be followed by hex digits", position)
            out.append(int(text[position + 2 : end], 16))
            return end
        if kind in "uU":
            digits = 4 if kind == "u" else 8
            code, end = self._hex_digits(position + 2, digits, position)
            if 0xD800 <= code <= 0xDBFF and text[end : end + 2] == "\\u":
                low, after = self._hex_digits(end + 2, 4, end)
                if 0xDC00 <= low <= 0xDFFF:  # a surrogate pair written as two \u escapes
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    end = after
            if 0xD800 <= code <= 0xDFFF:
                raise self.error(f"escape {text[position:end]!r} is a lone surrogate, not a character", position)
            if code > 0x10FFFF:
                raise self.error(f"escape {text[position:end]!r} is beyond Unicode", position)
            out += chr(code).encode("utf-8")
            return end
        raise self.error(f"unknown escape '\\{kind}' in a string", position)

    def _hex_digits(self, start: int, count: int, escape_start: int) -> tuple[int, int]:
        digits = self.text[start : start + count]
        if len(digits) != count or any(char not in _HEX for char in digits):
            kind = self.text[escape_start + 1]
            raise self.error(f"\\{kind} must be followed by exactly {count} hex digits", escape_start)
        return int(digits, 16), start + count


# --------------------------------------------------------------------------------------------- parser
@dataclass
class _Field:
    """One parsed field: a scalar token, a message (list of fields) or a list of those."""

    name: str
    token: _Token  # the field name's token (for error places)
    scalar: list[_Token] | None = None  # the value's tokens (a sign and a number, or adjacent strings)
    message: list[_Field] | None = None
    items: list[_Field] | None = None  # a [ ... ] list: each entry a _Field holding a scalar or a message


class _Parser:
    """Recursive descent over the tokens: ``document := field*``; ``field := name (':' value | message)``."""

    def __init__(self, tokens: list[_Token], path: str | None) -> None:
        self.tokens = tokens
        self.index = 0
        self.path = path
        self.depth = 0  # messages open now: bounded, so nesting cannot exhaust Python's stack

    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def at_symbol(self, symbol: str) -> bool:
        return self.token.kind == "symbol" and self.token.text == symbol

    def error(self, message: str, token: _Token | None = None) -> LabelMapError:
        token = token or self.token
        return LabelMapError(f"column {token.column}: {message}", path=self.path, line=token.line)

    def expect_symbol(self, symbol: str) -> _Token:
        if not self.at_symbol(symbol):
            raise self.error(f"expected {symbol!r}, found {self.token.describe()}")
        return self.advance()

    def parse_document(self) -> list[_Field]:
        fields = self.parse_fields(closing=None)
        if self.token.kind != "end":
            raise self.error(f"unexpected {self.token.describe()}")
        return fields

    def parse_fields(self, closing: str | None) -> list[_Field]:
        fields = []
        while not (self.token.kind == "end" or (closing is not None and self.at_symbol(closing))):
            fields.append(self.parse_field())
            if self.at_symbol(",") or self.at_symbol(";"):
                self.advance()
        return fields

    def parse_field(self) -> _Field:
        name_token = self.token
        if self.at_symbol("["):  # an extension or Any type URL: [pkg.ext] or [type.googleapis.com/pkg.Msg]
            name = self.parse_bracketed_name()
        elif name_token.kind == "identifier":
            name = self.advance().text
        else:
            raise self.error(f"expected a field name, found {name_token.describe()}")
        field = _Field(name, name_token)
        if self.at_symbol(":"):
            self.advance()
            if self.at_symbol("{") or self.at_symbol("<"):
                field.message = self.parse_message()
            elif self.at_symbol("["):
                field.items = self.parse_list()
            else:
                field.scalar = self.parse_scalar()
        elif self.at_symbol("{") or self.at_symbol("<"):
            field.message = self.parse_message()
        elif self.at_symbol("["):  # a list of messages may omit the colon
            field.items = self.parse_list()
        else:
            raise self.error(f"expected ':' or '{{' after {name!r}, found {self.token.describe()}")
        return field

    def parse_bracketed_name(self) -> str:
        self.expect_symbol("[")
        parts = []
        while not self.at_symbol("]"):
            token = self.advance()
            if token.kind == "end":
                raise self.error("an extension name in '[...]' is not closed")
            if token.kind not in ("identifier", "number") and token.text not in "./":
                raise self.error(f"unexpected {token.describe()} in an extension name", token)
            parts.append(token.text)
        self.advance()
        return "[" + "".join(parts) + "]"

    def parse_message(self) -> list[_Field]:
        opening = self.advance()
        self.depth += 1
        if self.depth > _MAX_NESTING:
            raise self.error(f"messages nested more than {_MAX_NESTING} deep", opening)
        closing = "}" if opening.text == "{" else ">"
        fields = self.parse_fields(closing)
        if not self.at_symbol(closing):
            raise self.error(
                f"expected {closing!r} to close the {opening.text!r} opened on line {opening.line}, "
                f"found {self.token.describe()}"
            )
        self.advance()
        self.depth -= 1
        return fields

    def parse_list(self) -> list[_Field]:
        open_token = self.expect_symbol("[")
        entries: list[_Field] = []
        while not self.at_symbol("]"):
            if entries:
                self.expect_symbol(",")
            if self.at_symbol("{") or self.at_symbol("<"):
                entries.append(_Field("", self.token, message=self.parse_message()))
            else:
                entries.append(_Field("", self.token, scalar=self.parse_scalar()))
            if self.token.kind == "end":
                raise self.error("a list opened with '[' is not closed", open_token)
        self.advance()
        return entries

    def parse_scalar(self) -> list[_Token]:
        token = self.token
        if token.kind == "string":
            strings = [self.advance()]
            while self.token.kind == "string":  # adjacent literals concatenate: "a" "b" == "ab"
                strings.append(self.advance())
            return strings
        if self.at_symbol("-"):
            sign = self.advance()
            if self.token.kind not in ("number", "identifier"):
                raise self.error(f"expected a number after '-', found {self.token.describe()}")
            return [sign, self.advance()]
        if token.kind in ("number", "identifier"):
            return [self.advance()]
        raise self.error(f"expected a value, found {token.describe()}")


# --------------------------------------------------------------------------------------------- label map
def _build_label_map(fields: list[_Field], path: str | None) -> LabelMap:
    label_map = LabelMap()
    line_of_id: dict[int, int] = {}
    line_of_name: dict[str, int] = {}
    for field in fields:
        if field.name != "item":
            continue  # StringIntLabelMap has only `item`; anything else is tolerated and skipped
        if field.message is not None:
            messages = [(field.token, field.message)]
        elif field.items is not None and all(entry.message is not None for entry in field.items):
            messages = [(entry.token, entry.message) for entry in field.items if entry.message is not None]
        else:
            raise _field_error("'item' must be a message: item { id: 1 name: 'car' }", field.token, path)
        for token, message in messages:
            label = _item_to_label(message, token, path)
            if label.id in line_of_id:
                raise _field_error(
                    f"label id {label.id} is used twice (line {line_of_id[label.id]} and here)", token, path
                )
            if label.name in line_of_name:
                raise _field_error(
                    f"label name {label.name!r} is used twice (line {line_of_name[label.name]} and here)",
                    token,
                    path,
                )
            line_of_id[label.id] = token.line
            line_of_name[label.name] = token.line
            label_map.add(label.name, label.id, display_name=label.display_name, keypoints=label.keypoints)
    return label_map


def _item_to_label(message: list[_Field], item_token: _Token, path: str | None) -> Label:
    values: dict[str, tuple[_Field, str | int]] = {}
    points: dict[int, str] = {}
    for field in message:
        if field.name == "keypoints":
            _add_keypoint(field, points, path)
            continue
        if field.name not in ("id", "name", "display_name"):
            continue  # ancestor_ids, frequency, ...: tolerated and skipped
        if field.name in values:
            raise _field_error(f"field {field.name!r} is given twice in one item", field.token, path)
        if field.scalar is None:
            raise _field_error(f"field {field.name!r} must be a single value", field.token, path)
        if field.name == "id":
            values["id"] = (field, _integer_value(field, path))
        else:
            values[field.name] = (field, _text_value(field, path))
    if "id" not in values:
        raise _field_error("item has no 'id'", item_token, path)
    id_field, id_value = values["id"]
    label_id = int(id_value)
    display_name = str(values["display_name"][1]) if "display_name" in values else None
    if "name" in values:
        name = str(values["name"][1])
    else:
        name = display_name if display_name is not None else f"label_{label_id}"
    if label_id < 0:
        raise _field_error(f"label id {label_id} is negative; ids start at 1", id_field.token, path)
    if not name:  # '' would read back as "no label" in CVAT and Datumaro
        where = values["name"][0].token if "name" in values else item_token
        raise _field_error(f"label id {label_id} has an empty name", where, path)
    if label_id == 0 and BACKGROUND not in (name, display_name):
        raise _field_error(
            f"label id 0 is reserved for 'background' in the TF OD API, but the label is named {name!r}; "
            "ids start at 1 (a 0-based label map, e.g. from FiftyOne, needs every id shifted by one)",
            id_field.token,
            path,
        )
    if points and sorted(points) != list(range(len(points))):
        raise _field_error(
            f"keypoint ids of {name!r} are {sorted(points)}; they must number the points 0, 1, 2, … without gaps",
            item_token,
            path,
        )
    return Label(label_id, name, display_name, tuple(points[index] for index in sorted(points)))


def _add_keypoint(field: _Field, points: dict[int, str], path: str | None) -> None:
    """One ``keypoints { id: 0 label: "nose" }`` block of an item into ``points`` (id -> name)."""
    if field.message is None:
        raise _field_error("'keypoints' must be a message: keypoints { id: 0 label: 'nose' }", field.token, path)
    point_id: int | None = None
    label = ""
    for entry in field.message:
        if entry.name == "id" and entry.scalar is not None:
            point_id = _integer_value(entry, path)
        elif entry.name == "label" and entry.scalar is not None:
            label = _text_value(entry, path)
    if point_id is None or point_id < 0:
        raise _field_error("a 'keypoints' block needs an 'id' of 0 or more", field.token, path)
    if point_id in points:
        raise _field_error(f"keypoint id {point_id} is used twice in one item", field.token, path)
    points[point_id] = label or str(point_id + 1)


def _integer_value(field: _Field, path: str | None) -> int:
    assert field.scalar is not None
    tokens = field.scalar
    negative = tokens[0].text == "-" and tokens[0].kind == "symbol"
    token = tokens[-1]
    if token.kind != "number":
        raise _field_error(f"'{field.name}' must be an integer, found {token.describe()}", token, path)
    text = token.text
    try:
        if text[:2].lower() == "0x":
            value = int(text[2:], 16)
        elif len(text) > 1 and text[0] == "0":
            value = int(text[1:], 8)  # protobuf text format: a leading 0 means octal
        else:
            value = int(text, 10)
    except ValueError:
        raise _field_error(f"'{field.name}' must be an integer, found {text!r}", token, path) from None
    value = -value if negative else value
    if not -_INT32_MAX - 1 <= value <= _INT32_MAX:
        raise _field_error(f"'{field.name}' {value} does not fit in int32", token, path)
    return value


def _text_value(field: _Field, path: str | None) -> str:
    assert field.scalar is not None
    tokens = field.scalar
    if tokens[0].kind == "string":
        data = b"".join(token.value for token in tokens)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise _field_error(
                f"'{field.name}' is not valid UTF-8 after unescaping {tokens[0].text}", tokens[0], path
            ) from None
    if len(tokens) == 1 and tokens[0].kind in ("identifier", "number"):
        return tokens[0].text  # an unquoted name, read literally (lenient; documented above)
    raise _field_error(f"'{field.name}' must be a quoted string", tokens[0], path)


def _field_error(message: str, token: _Token, path: str | None) -> LabelMapError:
    return LabelMapError(f"column {token.column}: {message}", path=path, line=token.line)
