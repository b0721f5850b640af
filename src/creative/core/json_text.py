"""JSON from untrusted sources (pages, servers, users' files) with a nesting-depth cap checked
before parsing: the parser recurses once per level, and a document nested thousands deep would
exhaust the stack instead of giving an error."""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 64
# Strings (skipped whole, so brackets inside them do not count) and the brackets that nest.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.S)


def check_depth(text: str, max_depth: int = MAX_DEPTH) -> None:
    """Raise json.JSONDecodeError (with line and column) where `text` opens a level deeper than
    `max_depth`; a linear scan of its brackets."""
    if text.count("[") + text.count("{") <= max_depth:
        return
    depth = 0
    for match in _TOKENS.finditer(text):
        token = match.group(0)
        if token in "[{":
            depth += 1
            if depth > max_depth:
                raise json.JSONDecodeError(f"nested deeper than {max_depth} levels", text, match.start())
        elif token in "]}":
            depth -= 1


def loads(text: str, *, max_depth: int = MAX_DEPTH, **kwargs: Any) -> Any:
    """json.loads after check_depth; every error is a json.JSONDecodeError."""
    check_depth(text, max_depth)
    return json.loads(text, **kwargs)
