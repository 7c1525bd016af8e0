"""Where a key sits in TOML text: line numbers for error messages.

tomllib parses to plain dicts and keeps no positions, so a scenario error could
otherwise only say *what* is wrong, not *where*. This module re-reads the text
with a small tolerant scanner that knows just enough TOML to skip over values
(strings, inline tables, arrays spanning lines, comments) and records where
each key of each table starts. It never decides whether the text is valid TOML:
tomllib has already done that; on anything it does not understand it skips to
the next line, and a lookup that cannot go deeper answers with the nearest
enclosing key it did find.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

_BARE_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_BLANK = " \t\r\n"


@dataclass(frozen=True, slots=True)
class _Entry:
    """A key: the offset where it starts, and the span of its value."""

    key_at: int
    value: tuple[int, int]


@dataclass(frozen=True, slots=True)
class _Table:
    """A `[name]` or `[[name]]` header and the keys below it."""

    name: str
    array: bool
    at: int
    keys: dict[str, _Entry] = field(default_factory=dict)


# Where a lookup stands: the keys of a table, the text span of a value, or nowhere.
_Cursor = dict[str, _Entry] | tuple[int, int] | None


def key_line(text: str, path: Sequence[str | int]) -> int | None:
    """The 1-based line of the key at `path`, e.g. `("variants", 2, "mix")`, or the nearest."""
    root, tables = _index(text)
    offset, cursor, consumed = _start(root, tables, path)
    for step in path[consumed:]:
        found = _step(text, cursor, step)
        if found is None:
            break
        offset, cursor = found
    return None if offset is None else _line_of(text, offset)


def _start(
    root: dict[str, _Entry], tables: list[_Table], path: Sequence[str | int]
) -> tuple[int | None, _Cursor, int]:
    """Where the path starts: the deepest `[name]` or n-th `[[name]]` table it names
    (`[[a.b]]` tables counted within the `[[a]]` they follow), else the root keys."""
    offset: int | None = None
    cursor: _Cursor = root
    consumed = 0
    names: list[str] = []
    # The span of text the tables looked up next must lie in.
    low, high = 0, len(tables)
    while consumed < len(path) and isinstance(path[consumed], str):
        name = ".".join([*names, str(path[consumed])])
        inside = range(low, high)
        arrays = [i for i in inside if tables[i].name == name and tables[i].array]
        plain = [i for i in inside if tables[i].name == name and not tables[i].array]
        if arrays:
            nxt = path[consumed + 1] if consumed + 1 < len(path) else None
            if not isinstance(nxt, int):
                return tables[arrays[0]].at, None, consumed + 1
            if nxt >= len(arrays):
                return tables[arrays[-1]].at, None, consumed + 2
            chosen = arrays[nxt]
            low, high = chosen, arrays[nxt + 1] if nxt + 1 < len(arrays) else high
            offset, cursor, consumed = tables[chosen].at, tables[chosen].keys, consumed + 2
        elif plain:
            chosen = plain[0]
            offset, cursor, consumed = tables[chosen].at, tables[chosen].keys, consumed + 1
            low = chosen
        else:
            break
        names.append(name.rsplit(".", 1)[-1])
    return offset, cursor, consumed


def _step(text: str, cursor: _Cursor, step: str | int) -> tuple[int, _Cursor] | None:
    """Go one key or index deeper; None when that key or index is not there."""
    if cursor is None:
        return None
    if isinstance(cursor, dict):
        entry = cursor.get(step) if isinstance(step, str) else None
        return None if entry is None else (entry.key_at, entry.value)
    start, end = cursor
    if start >= len(text):
        return None
    opener = text[start]
    if opener == "{" and isinstance(step, str):
        entry = _inline_keys(text, start, end).get(step)
        return None if entry is None else (entry.key_at, entry.value)
    if opener == "[" and isinstance(step, int):
        elements = _elements(text, start, end)
        if step >= len(elements):
            return None
        return elements[step][0], elements[step]
    return None


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, max(offset, 0)) + 1


def _index(text: str) -> tuple[dict[str, _Entry], list[_Table]]:
    """Every top-level table header and every key below it, in file order."""
    root: dict[str, _Entry] = {}
    tables: list[_Table] = []
    current = root
    i, n = 0, len(text)
    while i < n:
        i = _skip_blank(text, i, n)
        if i >= n:
            break
        if text[i] == "[":
            table, i = _header(text, i, n)
            if table is not None:
                tables.append(table)
                current = table.keys
            continue
        key, after_key = _read_key(text, i, n)
        j = _skip_spaces(text, after_key, n)
        if key is None or j >= n or text[j] != "=":
            i = _next_line(text, i, n)
            continue
        value = _value_span(text, j + 1, n)
        # First occurrence wins: a duplicate key is a tomllib error reported by line anyway.
        current.setdefault(key, _Entry(i, value))
        i = max(value[1], j + 1)
    return root, tables


def _header(text: str, i: int, n: int) -> tuple[_Table | None, int]:
    array = text.startswith("[[", i)
    line_end = _next_line(text, i, n)
    close = text.find("]]" if array else "]", i, line_end)
    if close < 0:
        return None, line_end
    name = text[i + (2 if array else 1) : close].strip().strip("\"'")
    return _Table(name=name, array=array, at=i), line_end


def _read_key(text: str, i: int, n: int) -> tuple[str | None, int]:
    """A bare, quoted or dotted key starting at `i`, and the offset after it."""
    parts: list[str] = []
    while True:
        i = _skip_spaces(text, i, n)
        if i >= n:
            break
        if text[i] in "\"'":
            end = _skip_string(text, i, n)
            parts.append(text[i + 1 : end - 1])
            i = end
        else:
            start = i
            while i < n and text[i] in _BARE_KEY_CHARS:
                i += 1
            if i == start:
                break
            parts.append(text[start:i])
        j = _skip_spaces(text, i, n)
        if j < n and text[j] == ".":
            i = j + 1
            continue
        break
    return (".".join(parts) if parts else None), i


def _inline_keys(text: str, start: int, end: int) -> dict[str, _Entry]:
    """The keys of an inline table `{ a = 1, b = 2 }` spanning `start`..`end`."""
    keys: dict[str, _Entry] = {}
    i = start + 1
    while i < end:
        i = _skip_blank(text, i, end)
        if i >= end or text[i] == "}":
            break
        key, after_key = _read_key(text, i, end)
        j = _skip_spaces(text, after_key, end)
        if key is None or j >= end or text[j] != "=":
            break
        value = _value_span(text, j + 1, end)
        keys.setdefault(key, _Entry(i, value))
        i = _skip_blank(text, value[1], end)
        if i < end and text[i] == ",":
            i += 1
            continue
        break
    return keys


def _elements(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The spans of the elements of an array `[a, b, c]` spanning `start`..`end`."""
    spans: list[tuple[int, int]] = []
    i = start + 1
    while i < end:
        i = _skip_blank(text, i, end)
        if i >= end or text[i] == "]":
            break
        if text[i] == ",":
            i += 1
            continue
        span = _value_span(text, i, end, stop=",]")
        spans.append(span)
        i = max(span[1], i + 1)
    return spans


def _value_span(text: str, i: int, n: int, stop: str = "") -> tuple[int, int]:
    """The span of the value starting at or after `i` (arrays and inline tables may span lines)."""
    i = _skip_spaces(text, i, n)
    if i >= n:
        return i, i
    if text[i] in "[{":
        return i, _match_close(text, i, n)
    if text[i] in "\"'":
        return i, _skip_string(text, i, n)
    j = i
    while j < n and text[j] not in "\n#" and text[j] not in stop:
        j += 1
    while j > i and text[j - 1] in " \t\r":
        j -= 1
    return i, j


def _match_close(text: str, i: int, n: int) -> int:
    """The offset just after the bracket that closes the one at `i`."""
    depth = 0
    while i < n:
        c = text[i]
        if c in "\"'":
            i = _skip_string(text, i, n)
            continue
        if c == "#":
            i = _next_line(text, i, n)
            continue
        if c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return n


def _skip_string(text: str, i: int, n: int) -> int:
    """The offset just after the string (basic, literal, or multi-line) starting at `i`."""
    quote = text[i]
    if text.startswith(quote * 3, i):
        j = i + 3
        while j < n:
            if quote == '"' and text[j] == "\\":
                j += 2
                continue
            if text.startswith(quote * 3, j):
                # A multi-line string may end with up to two extra quotes.
                k = j + 3
                while k < n and text[k] == quote and k < j + 5:
                    k += 1
                return k
            j += 1
        return n
    j = i + 1
    while j < n and text[j] != "\n":
        if quote == '"' and text[j] == "\\":
            j += 2
            continue
        if text[j] == quote:
            return j + 1
        j += 1
    return j


def _skip_spaces(text: str, i: int, n: int) -> int:
    while i < n and text[i] in " \t":
        i += 1
    return i


def _skip_blank(text: str, i: int, n: int) -> int:
    """Skip whitespace, newlines and comments."""
    while i < n:
        if text[i] in _BLANK:
            i += 1
        elif text[i] == "#":
            i = _next_line(text, i, n)
        else:
            break
    return i


def _next_line(text: str, i: int, n: int) -> int:
    j = text.find("\n", i, n)
    return n if j < 0 else j + 1
