"""JSON from untrusted sources (pages, servers, users' files) with a nesting-depth cap checked
before parsing: the parser recurses once per level, and a document nested thousands deep would
exhaust the stack instead of giving an error."""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

MAX_DEPTH = 64
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')  # unrolled loop: linear in the text
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_TOKENS = re.compile(_STRING.pattern + r"|[\[\]{}]")  # strings skipped whole, brackets one by one
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def check_depth(text: str, max_depth: int = MAX_DEPTH) -> None:
    """Raise json.JSONDecodeError (with line and column) where `text` opens a level deeper than
    `max_depth`. Linear: the deepest level is found on the brackets left once strings are removed."""
    if text.count("[") + text.count("{") <= max_depth:
        return
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    if max(accumulate(map(_STEP.__getitem__, brackets)), default=0) <= max_depth:
        return
    depth = 0
    for match in _TOKENS.finditer(text):  # only to say where: stops at the first level too deep
        depth += _STEP.get(match.group(0), 0)
        if depth > max_depth:
            raise json.JSONDecodeError(f"nested deeper than {max_depth} levels", text, match.start())


def loads(text: str, *, max_depth: int = MAX_DEPTH, **kwargs: Any) -> Any:
    """json.loads after check_depth; every error is a json.JSONDecodeError."""
    check_depth(text, max_depth)
    return json.loads(text, **kwargs)
