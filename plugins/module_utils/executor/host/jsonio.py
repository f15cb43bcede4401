# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""JSON for the state files, without the json package.

json's decoder imports re, and with it enum, functools and collections:
7 ms of every supervisor's start, a quarter of it, only to read its spec
and state. The C accelerator the json package itself uses (``_json``) does
the parsing and the string escaping here; the rest is a few lines. Where an
interpreter has no ``_json``, the json package does all of it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math

try:
    import _json
except ImportError:  # not CPython
    _json = None

_WHITESPACE = " \t\n\r"


class _Context:
    """What _json's scanner reads from json.JSONDecoder, with its defaults."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = float  # NaN, Infinity, -Infinity


_scan = _json.make_scanner(_Context()) if _json is not None else None


def loads(text):
    """The value of the JSON document ``text``; ValueError when it is not one."""
    if _scan is None:
        import json
        return json.loads(text)
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        value, end = _scan(text, start)
    except StopIteration:
        raise ValueError("not JSON: expecting a value at %d" % start)
    if text[end:].strip(_WHITESPACE):
        raise ValueError("not JSON: extra data at %d" % end)
    return value


def dumps(value, indent=None, sort_keys=False):
    """``value`` as json.dumps writes it, ASCII only, with these two options."""
    if _json is None:
        import json
        return json.dumps(value, indent=indent, sort_keys=sort_keys)
    chunks = []
    _encode(value, chunks, indent, sort_keys, 0)
    return "".join(chunks)


def _encode(value, chunks, indent, sort_keys, level):
    if isinstance(value, str):
        chunks.append(_json.encode_basestring_ascii(value))
    elif value is None:
        chunks.append("null")
    elif value is True:
        chunks.append("true")
    elif value is False:
        chunks.append("false")
    elif isinstance(value, int):
        chunks.append(int.__repr__(value))
    elif isinstance(value, float):
        chunks.append(_float(value))
    elif isinstance(value, dict):
        items = sorted(value.items()) if sort_keys else value.items()
        _container(chunks, "{", "}", items, indent, level, sort_keys, keyed=True)
    elif isinstance(value, (list, tuple)):
        _container(chunks, "[", "]", value, indent, level, sort_keys, keyed=False)
    else:
        raise TypeError("Object of type %s is not JSON serializable" % type(value).__name__)


def _container(chunks, opening, closing, items, indent, level, sort_keys, keyed):
    chunks.append(opening)
    newline = None if indent is None else "\n" + " " * (indent * (level + 1))
    separator = ", " if indent is None else ","
    first = True
    for item in items:
        if not first:
            chunks.append(separator)
        first = False
        if newline:
            chunks.append(newline)
        if keyed:
            key, item = item
            if not isinstance(key, str):
                raise TypeError("keys must be str, not %s" % type(key).__name__)
            chunks.append(_json.encode_basestring_ascii(key))
            chunks.append(": ")
        _encode(item, chunks, indent, sort_keys, level + 1)
    if newline and not first:
        chunks.append("\n" + " " * (indent * level))
    chunks.append(closing)


def _float(value):
    if math.isnan(value):
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)
