"""Reading the copywriter's answer: the JSON object, its concepts, and what is wrong with each.

Each concept is validated by the brief's own Concept model (as a hand-edited brief is) and then
by the drafter's rules; the result per angle is a Concept or the list of its problems.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError

from creative.copy.concept_rules import CopyRules, concept_errors, duplicate_errors
from creative.core.models import Concept
from creative.core.text import slugify

MISSING = "no concept was written for this angle"


class NoJson(Exception):
    """An answer without the JSON object asked for."""


def concept_items(content: str) -> list[Any]:
    """The `concepts` list of an answer; tolerates a code fence or words around the object."""
    text = content.strip()
    fenced = re.search(r"```(?:json)?\s*(.*?)```", text, re.S)
    if fenced:
        text = fenced.group(1).strip()
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise NoJson("no JSON object in the answer" if text else "an empty answer")
    try:
        data = json.loads(text[start:end + 1])
    except json.JSONDecodeError as exc:
        raise NoJson(f"invalid JSON: {exc.msg} at character {exc.pos}") from None
    items = data.get("concepts") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise NoJson('the object has no "concepts" list')
    return items


def check_items(items: list[Any], angles: list[str], rules: CopyRules, kept: list[Concept]) -> dict[str, Concept | list[str]]:
    """Angle -> valid Concept, or the list of what is wrong with the model's concept for it."""
    out: dict[str, Concept | list[str]] = {angle: [MISSING] for angle in angles}
    seen: set[str] = set()
    candidates: list[tuple[str, Concept]] = []
    for position, item in enumerate(items):
        angle, result = _concept_of(item, angles, position)
        if angle is None or angle in seen:
            continue  # an unknown or repeated angle: the expected one stays missing
        seen.add(angle)
        if isinstance(result, list):
            out[angle] = result
            continue
        errors = concept_errors(result, rules)
        out[angle] = errors or result
        if not errors:
            candidates.append((angle, result))
    # Distinct headlines: against concepts already kept, then among the new ones in angle order.
    ordered = kept + [c for _, c in candidates]
    for index, errors in duplicate_errors(ordered).items():
        if index >= len(kept):
            angle = candidates[index - len(kept)][0]
            out[angle] = errors
    return out


def _concept_of(item: Any, angles: list[str], position: int) -> tuple[str | None, Concept | list[str]]:
    """(angle, Concept) from one answer item, validated by the brief's Concept model."""
    if not isinstance(item, dict):
        return (angles[position] if position < len(angles) else None), [f"concept {position + 1} is not an object"]
    data = {k: (" ".join(v.split()) if isinstance(v, str) else v) for k, v in item.items()}
    angle = slugify(str(data.pop("angle", "") or ""))
    if angle not in angles:
        return None, []
    data.setdefault("subhead", "")
    data.setdefault("mood", "")
    try:
        return angle, Concept(name=angle, **data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'concept'}: {e['msg']}" for e in exc.errors())
        return angle, [problems]
