"""Text-free background scenes: the product's category picks a family from templates/scenes.yaml."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from creative.copy.clean import TermMatcher
from creative.copy.phrases import ANGLE_KINDS, read_yaml_strings
from creative.core.config import SOURCE_ROOT
from creative.core.errors import InputError
from creative.core.models import ResearchNotes

DEFAULT_FAMILY = "default"
STEM_MIN = 5  # shorter keywords must be whole words ("pan" is not "panel"), longer ones are stems
_FIELDS = ("subject", "surface", "setting", "mood")
# Weight of each source of words: what the shop files the product under says the most.
_WEIGHTS = (("category", 3), ("name", 2), ("body", 1))


@dataclass(frozen=True)
class Family:
    name: str
    keywords: tuple[str, ...]
    subject: str
    surface: str
    setting: str
    props: tuple[str, ...]
    extra_props: tuple[tuple[str, str], ...]
    mood: str
    matcher: TermMatcher | None = None


@dataclass(frozen=True)
class SceneBook:
    shots: dict[str, str]
    families: tuple[Family, ...]
    default: Family
    source: str


def scenes_path(templates_dir: Path | None = None) -> Path:
    """templates/scenes.yaml from the configured templates, else the packaged one."""
    if templates_dir and (Path(templates_dir) / "scenes.yaml").is_file():
        return Path(templates_dir) / "scenes.yaml"
    return SOURCE_ROOT / "templates" / "scenes.yaml"


@lru_cache(maxsize=8)
def load_scenes(path: str) -> SceneBook:
    """Parse scenes.yaml; InputError naming the file and the key when something is missing."""
    data = read_yaml_strings(path, "scene file", "fix the YAML; the comments at the top of scenes.yaml explain it")
    if not isinstance(data, dict):
        raise InputError(f"{path}: the scene file must be a mapping", hint="see the comments at its top")
    shots = data.get("shots") or {}
    missing = [f"shots.{k}" for k in ANGLE_KINDS if not shots.get(k)]
    if missing:
        raise InputError(f"{path}: missing {', '.join(missing)}", hint="add a shot for every concept angle")
    families = tuple(_family(path, name, spec) for name, spec in (data.get("families") or {}).items())
    default = _family(path, DEFAULT_FAMILY, {"keywords": [], **(data.get("default") or {})})
    return SceneBook(shots={k: str(v) for k, v in shots.items()}, families=families, default=default, source=path)


def _family(path: str, name: str, spec: dict) -> Family:
    missing = [k for k in (*_FIELDS, "props") if not spec.get(k)]
    if missing:
        raise InputError(f"{path}: scene family {name!r} has no {', '.join(missing)}",
                         hint="every family needs subject, surface, setting, props and mood")
    extra = tuple((str(rx), str(prop)) for rx, prop in (spec.get("extra_props") or {}).items())
    keywords = tuple(str(k).lower() for k in spec.get("keywords") or ())
    return Family(name=name, keywords=keywords, props=tuple(str(p) for p in spec["props"]), extra_props=extra,
                  matcher=TermMatcher(keywords, whole_under=STEM_MIN), **{k: str(spec[k]) for k in _FIELDS})


def _texts(notes: ResearchNotes) -> dict[str, str]:
    return {
        "category": " ".join([notes.category or "", *notes.breadcrumbs]).lower(),
        "name": (notes.product_name or notes.title or "").lower(),
        "body": " ".join([notes.description or "", *notes.features[:8]]).lower(),
    }


def family_scores(notes: ResearchNotes, book: SceneBook) -> dict[str, int]:
    """Each family's score for the product (for the brief's note on why a family was chosen)."""
    texts = _texts(notes)
    scores: dict[str, int] = {}
    for fam in book.families:
        if fam.matcher is None:
            continue
        score = sum(weight * fam.matcher.count(texts[key]) for key, weight in _WEIGHTS)
        if score:
            scores[fam.name] = score
    return scores


def pick_family(notes: ResearchNotes, book: SceneBook) -> Family:
    """The best-scoring family; the neutral default when nothing matches."""
    scores = family_scores(notes, book)
    if not scores:
        return book.default
    best = max(scores, key=lambda name: scores[name])  # first in file order wins a tie
    return next(f for f in book.families if f.name == best)


def props_for(notes: ResearchNotes, family: Family) -> str:
    """The family's own props, plus at most one extra the product's words call for."""
    text = " ".join([notes.product_name or "", notes.description or "", *notes.features[:8]]).lower()
    extra = [prop for rx, prop in family.extra_props if re.search(rx, text)]
    return ", ".join([*extra[:1], family.props[0]])


def scene_for(notes: ResearchNotes, kind: str, family: Family, book: SceneBook) -> str:
    """The text-free scene for one concept angle."""
    template = book.shots.get(kind) or book.shots["product"]
    return template.format(subject=family.subject, surface=family.surface, setting=family.setting,
                           props=props_for(notes, family))
