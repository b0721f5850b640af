"""YAML parsing on libyaml's C parser when PyYAML has it, with PyYAML's own error messages,
and a nesting-depth cap checked before any object is built."""

from __future__ import annotations

from typing import Any

import yaml

_C_LOADER = getattr(yaml, "CSafeLoader", None)
# Deeper than any settings, brand or brief header needs; building objects recurses once per level,
# so a document nested thousands deep would exhaust the stack instead of giving an error.
MAX_DEPTH = 64
_OPEN = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSE = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


class NestingTooDeep(yaml.MarkedYAMLError):
    """A YAML document nested deeper than allowed; its mark is where that level opens."""


def check_depth(text: str, max_depth: int = MAX_DEPTH) -> None:
    """Raise NestingTooDeep (a YAMLError with a line and column) when `text` nests deeper than
    `max_depth`. Only the parser's events are read: no node or object is built."""
    # Each level needs an indicator ([, {, :, - or ?): with fewer of them, nothing to scan.
    if sum(text.count(c) for c in "[{:-?") <= max_depth:
        return
    loaders = [yaml.SafeLoader] if _C_LOADER is None else [_C_LOADER, yaml.SafeLoader]
    for loader in loaders:
        try:
            _scan_depth(text, loader, max_depth)
            return
        except NestingTooDeep:
            raise
        except yaml.YAMLError:
            # libyaml stops at its own limit of 1000 levels, without our message and before
            # yielding the events that would show the depth: the pure-Python parser goes on.
            continue
    # A syntax error: the load reports it in PyYAML's words.


def _scan_depth(text: str, loader: type, max_depth: int) -> None:
    depth = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, _OPEN):
            depth += 1
            if depth > max_depth:
                raise NestingTooDeep(problem=f"nested deeper than {max_depth} levels",
                                     problem_mark=event.start_mark)
        elif isinstance(event, _CLOSE):
            depth -= 1


def safe_load(text: str) -> Any:
    """yaml.safe_load, about ten times faster on the C parser (channels.yaml alone took 50 ms).

    A document nested deeper than MAX_DEPTH is refused first, with its line. A document the C
    parser rejects is parsed again by the pure-Python one, so errors keep the wording and line
    numbers they always had.
    """
    check_depth(text)
    if _C_LOADER is not None:
        try:
            return yaml.load(text, Loader=_C_LOADER)  # noqa: S506 - CSafeLoader is the safe loader
        except yaml.YAMLError:
            pass
    return yaml.safe_load(text)
