"""What the brief says about its writer: the progress line, and comments in brief.md.

The comments sit inside <!-- -->, which brief.md's parser ignores, so the file stays the brief a
marketer edits by hand.
"""

from __future__ import annotations

import re
from pathlib import Path

from creative.copy.brief import render_brief
from creative.core.atomic import write_atomic
from creative.core.models import Brief, WriterRecord
from creative.core.redact import redact_text


def summary_line(record: WriterRecord) -> str:
    parts = [f"copy by {record.model}: {len(record.from_model)} concepts"]
    if record.repaired:
        parts.append(f" ({len(record.repaired)} repaired)")
    if record.from_rules:
        parts.append(f", {len(record.from_rules)} from the rules drafter")
    parts.append(f"; {record.input_tokens + record.output_tokens:,} tokens, ${record.cost_usd:.4f}")
    if record.cache_hits:
        parts.append(f", {record.cache_hits} of {record.requests} answers from the cache")
    return "".join(parts)


def render_with_notes(brief: Brief, record: WriterRecord) -> str:
    """brief.md text with comments saying who wrote the copy and why a concept is the drafter's."""
    text = render_brief(brief)
    if record.writer == "rules":
        return text
    lines = text.split("\n")
    first = next((i for i, ln in enumerate(lines) if ln.startswith("## ")), len(lines))
    lines.insert(first, _comment(_writer_line(record)))
    lines.insert(first + 1, "")
    for angle, why in reversed(record.left_out.items()):
        lines.insert(first + 1, _comment(f"Angle {angle} left out: {why}."))
    for name, note in record.notes.items():
        heading = next((i for i, ln in enumerate(lines)
                        if re.fullmatch(rf"##\s*Concept:\s*{re.escape(name)}\s*", ln)), first)
        lines.insert(heading + 1, _comment(f"Concept {name} written by the rules drafter: {note}."))
    return redact_text("\n".join(lines))


def _writer_line(record: WriterRecord) -> str:
    if record.fallback:
        return f"The rules drafter wrote this brief: the copywriter model {record.model} failed ({record.fallback})."
    line = f"Copy written by the model {record.model} (temperature 0, fixed seed), checked against the drafter's rules"
    if record.repaired:
        line += f"; repaired once: {', '.join(record.repaired)}"
    if record.from_rules:
        line += f"; from the rules drafter: {', '.join(record.from_rules)}"
    return line + "."


def _comment(text: str) -> str:
    return "<!-- " + text.replace("-->", "- ->") + " -->"


def save_brief(brief: Brief, record: WriterRecord, path: Path) -> None:
    """Write brief.md atomically, with the writer's comments."""
    write_atomic(Path(path), render_with_notes(brief, record))
