"""brief.md: render it, parse a hand-edited copy, check policy (drafting is in copy/drafting.py).

The file is YAML front matter (brand, channel, offer, ...) followed by one
`## Concept: <name>` section per creative direction with bullet fields. Notes for the reader
(a dropped angle, a language without phrases) are `<!-- Note: ... -->` lines.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import yaml
from pydantic import ValidationError

from creative.core.atomic import write_atomic
from creative.core.errors import InputError
from creative.core.models import Brief, Concept
from creative.core.text import slugify
from creative.core.yaml_text import safe_load
# check_policy lives in copy/policy.py; re-exported so `from creative.copy.brief import check_policy` keeps working.
from creative.copy.policy import check_policy  # noqa: F401

log = logging.getLogger(__name__)


def __getattr__(name: str):
    """SUBHEAD_MAX, draft_brief, shorten and format_price: part of this module's interface, loaded on first
    use. Drafting brings Babel, line breaking and the phrase lists, which reading or writing a brief never needs."""
    if name in ("SUBHEAD_MAX", "draft_brief"):
        from creative.copy import drafting

        return getattr(drafting, name)
    if name == "shorten":
        from creative.copy.shorten import shorten

        return shorten
    if name == "format_price":
        from creative.copy.money import format_price

        return format_price
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

HEADER_KEYS = ("brand", "channel", "format", "offer", "cta", "product", "url", "must_have", "avoid")
FIELDS = ("headline", "subhead", "cta", "scene", "mood")
FIELD_LABELS = {"headline": "Headline", "subhead": "Subhead", "cta": "CTA", "scene": "Scene", "mood": "Mood"}
_FIELD_ALIASES = {
    "headline": "headline", "head line": "headline", "title": "headline",
    "subhead": "subhead", "sub head": "subhead", "subheadline": "subhead", "sub headline": "subhead",
    "subheading": "subhead", "sub heading": "subhead", "subtitle": "subhead",
    "cta": "cta", "call to action": "cta", "button": "cta",
    "scene": "scene", "background": "scene", "visual": "scene",
    "mood": "mood", "tone": "mood",
}

FORMAT_COMMENT = """<!--
brief.md format (edit freely, then run: creative run --brief <this file>)
  * The YAML header between the --- lines: brand, channel, format, offer, cta, product, url,
    must_have (list), avoid (list: words the copy must never contain).
  * One section per concept, headed "## Concept: <name>" (name becomes a slug, e.g. offer).
  * Under it, one bullet per field: "- **Headline:** ...", "- **Subhead:** ...", "- **CTA:** ...",
    "- **Scene:** ...", "- **Mood:** ...". Headline, CTA and Scene are required; the CTA falls back
    to the header's cta. Bold, bullets (- or *) and key case are optional.
  * The copy (Headline, Subhead, CTA) is drawn on the ad exactly as written. The Scene describes the
    background image only and must not ask for text, letters or logos.
  * At least two concepts. Lines inside <!-- --> are ignored.
-->"""


# --- render -------------------------------------------------------------------


def _header(brief: Brief) -> dict:
    data = brief.model_dump(include=set(HEADER_KEYS))
    return {k: data[k] for k in HEADER_KEYS}


def render_brief(brief: Brief) -> str:
    """brief.md text: YAML front matter, a format comment, one section per concept."""
    head = yaml.safe_dump(_header(brief), sort_keys=False, allow_unicode=True, width=1000)
    lines = ["---", head.rstrip("\n"), "---", "", FORMAT_COMMENT, ""]
    lines.append(f"# Creative brief: {brief.product or brief.brand}")
    if brief.notes:
        lines.append("")
        lines += [f"<!-- Note: {' '.join(note.replace('--', '- -').split())} -->" for note in brief.notes]
    for c in brief.concepts:
        lines += ["", f"## Concept: {c.name}", ""]
        for field in FIELDS:
            value = " ".join(str(getattr(c, field)).split())
            lines.append(f"- **{FIELD_LABELS[field]}:** {value}".rstrip())
    return "\n".join(lines) + "\n"


# --- parse --------------------------------------------------------------------

_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s*(.*?)\s*#*\s*$")
_CONCEPT_PREFIX = re.compile(r"^concept\b\s*[:\-–—.]?\s*", re.I)
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_FIELD = re.compile(r"^(?P<open>\*\*|__|\*|_)?\s*(?P<key>[A-Za-z][A-Za-z _-]{0,30}?)\s*(?P<rest>(?:\*\*|__|\*|_)?\s*:.*)$")


_NOTE = re.compile(r"^\s*<!--\s*Note:\s*(.*?)\s*-->\s*$", re.M)


def _strip_comments(text: str) -> list[str]:
    """Lines with <!-- --> comments blanked out; line numbers are preserved."""
    def blank(m: re.Match[str]) -> str:
        return "\n" * m.group(0).count("\n")
    return re.sub(r"<!--.*?(?:-->|\Z)", blank, text, flags=re.S).split("\n")


def _match_field(line: str) -> tuple[str, str] | None:
    """'**Headline:** Hi' / 'Headline: Hi' / '*cta*: Go' -> ('Headline', 'Hi')."""
    m = _FIELD.match(line.strip())
    if not m:
        return None
    rest = m.group("rest")
    closing = re.match(r"(\*\*|__|\*|_)?\s*:\s*(\*\*|__|\*|_)?", rest)
    assert closing is not None
    if m.group("open") and not (closing.group(1) or closing.group(2)):
        return None
    return m.group("key").strip(), rest[closing.end():].strip()


def _field_name(key: str) -> str | None:
    return _FIELD_ALIASES.get(re.sub(r"[\s_-]+", " ", key.strip().lower()))


def parse_brief(text: str, source: str = "brief.md") -> Brief:
    """Parse brief.md text; errors are InputError '<source>:<line>: <what is wrong>'."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    notes = [m.group(1) for m in _NOTE.finditer(text)]
    lines = _strip_comments(text)

    def fail(lineno: int, what: str, hint: str | None = None) -> InputError:
        return InputError(f"{source}:{lineno}: {what}", hint=hint)

    start = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if start is None or lines[start].strip() != "---":
        raise fail((start or 0) + 1, "expected the YAML header to start with a '---' line",
                   hint="begin the file with '---', the header keys, then '---'")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].strip() in ("---", "...")), None)
    if end is None:
        raise fail(start + 1, "the YAML header opened here is never closed with '---'")
    header = _parse_header(lines[start + 1:end], start + 2, fail)

    concepts: list[dict] = []
    current: dict | None = None
    last_field: str | None = None
    for idx in range(end + 1, len(lines)):
        lineno, raw = idx + 1, lines[idx]
        stripped = raw.strip()
        if not stripped:
            last_field = None
            continue
        h = _HEADING.match(raw)
        if h:
            level, title = len(h.group(1)), h.group(2).strip()
            is_concept = bool(_CONCEPT_PREFIX.match(title))
            if level == 1 and not is_concept:
                current, last_field = None, None  # document title
                continue
            name = slugify(_CONCEPT_PREFIX.sub("", title, count=1))
            if not name:
                raise fail(lineno, f"concept heading {stripped!r} has no name",
                           hint="write it as '## Concept: <name>'")
            if any(c["name"] == name for c in concepts):
                raise fail(lineno, f"duplicate concept name {name!r}")
            current = {"name": name, "_line": lineno, "_lines": {}}
            concepts.append(current)
            last_field = None
            continue
        bullet = _BULLET.match(raw)
        body = raw[bullet.end():] if bullet else stripped
        field = _match_field(body)
        key = _field_name(field[0]) if field else None
        if field and key is None and bullet and current is not None:
            raise fail(lineno, f"unknown field {field[0]!r} in concept {current['name']!r}",
                       hint="fields are " + ", ".join(FIELD_LABELS.values()))
        if key is not None:
            if current is None:
                raise fail(lineno, f"field {field[0]!r} is outside any concept",
                           hint="put it under a '## Concept: <name>' heading")
            if key in current:
                raise fail(lineno, f"{FIELD_LABELS[key]} given twice in concept {current['name']!r} "
                           f"(first on line {current['_lines'][key]})")
            current[key] = field[1]
            current["_lines"][key] = lineno
            last_field = key
            continue
        if current is None:
            continue  # free text before the first concept is notes for humans
        if last_field is not None and not bullet:
            # A wrapped line continues the field above it.
            current[last_field] = f"{current[last_field]} {stripped}".strip()
            continue
        raise fail(lineno, f"unexpected text in concept {current['name']!r}: {stripped[:40]!r}",
                   hint="use '- **Headline:** ...', '- **Subhead:** ...', '- **CTA:** ...', "
                        "'- **Scene:** ...', '- **Mood:** ...'")

    built: list[Concept] = []
    for c in concepts:
        if not c.get("cta") and header.get("cta"):
            c["cta"] = header["cta"]
        for required in ("headline", "cta", "scene"):
            if not (c.get(required) or "").strip():
                where = c["_lines"].get(required, c["_line"])
                raise fail(where, f"concept {c['name']!r} has no {FIELD_LABELS[required]}",
                           hint=f"add '- **{FIELD_LABELS[required]}:** ...' under its heading")
        fields = {k: " ".join(c.get(k, "").split()) for k in FIELDS if k in c}
        built.append(Concept(name=c["name"], **fields))
    if len(built) < 2:
        raise fail(len(lines), f"a brief needs at least 2 concepts, found {len(built)}",
                   hint="add another '## Concept: <name>' section")
    try:
        return Brief(**header, concepts=built, notes=notes)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise fail(start + 1, f"header key {'.'.join(map(str, err['loc']))}: {err['msg']}") from None


def _parse_header(lines: list[str], first_lineno: int, fail) -> dict:
    try:
        data = safe_load("\n".join(lines))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        lineno = first_lineno + (mark.line if mark else 0)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise fail(lineno, f"invalid YAML in the header: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise fail(first_lineno, "the header must be 'key: value' lines")

    def line_of(key: str) -> int:
        for i, ln in enumerate(lines):
            if re.match(rf"^\s*{re.escape(str(key))}\s*:", ln):
                return first_lineno + i
        return first_lineno

    out: dict = {}
    for key, value in data.items():
        k = str(key).strip().lower().replace("-", "_").replace(" ", "_")
        if k not in HEADER_KEYS:
            raise fail(line_of(key), f"unknown header key {key!r}",
                       hint="header keys are " + ", ".join(HEADER_KEYS))
        if k in ("must_have", "avoid"):
            if value is None:
                value = []
            elif isinstance(value, str):
                value = [v.strip() for v in value.split(",")]
            elif not isinstance(value, list) or any(isinstance(v, (dict, list)) for v in value):
                raise fail(line_of(key), f"{key} must be a list of words or phrases")
            value = [str(v).strip() for v in value if v is not None and str(v).strip()]
        elif value is not None:
            if isinstance(value, (dict, list)):
                raise fail(line_of(key), f"{key} must be a single value, not a "
                                         f"{'list' if isinstance(value, list) else 'mapping'}")
            value = str(value).strip() or None
        out[k] = value
    for required in ("brand", "channel"):
        if not out.get(required):
            raise fail(first_lineno - 1, f"the header has no {required!r}",
                       hint=f"add '{required}: ...' between the --- lines")
    if out.get("format") is None:
        out.pop("format", None)
    return out


def read_brief(path: Path) -> Brief:
    """Read and parse a brief.md file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"Brief not found: {path}", hint="check the --brief path") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})",
                         hint="save the file as UTF-8") from None
    return parse_brief(text, source=str(path))


def write_brief(brief: Brief, path: Path) -> None:
    """Write brief.md atomically."""
    write_atomic(Path(path), render_brief(brief))


# --- policy -------------------------------------------------------------------
