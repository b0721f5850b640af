"""Ad phrases per language, from hand-editable templates/copy/<lang>.yaml.

A page in a language without a file gets English; `Phrases.fallback_from` says which language
was asked for, so the brief can tell the reader.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from babel import Locale, UnknownLocaleError

from creative.core.config import SOURCE_ROOT
from creative.core.errors import InputError
from creative.core.yaml_text import safe_load

DEFAULT_LANGUAGE = "en"
ANGLE_KINDS = ("offer", "benefit", "second", "proof", "problem", "product")
_LINE_KEYS = ("only", "was_now", "save", "rating", "rating_short", "rating_only", "stock_up", "meet")


@dataclass(frozen=True)
class Phrases:
    """One language's phrases and word lists."""

    language: str
    locale: str
    cta: dict[str, str]
    lines: dict[str, str]
    reviews: dict[str, str]  # CLDR plural category -> "{n} reviews"
    benefit_words: tuple[str, ...] = ()
    problem_markers: tuple[str, ...] = ()
    junk: tuple[str, ...] = ()
    fallback_from: str | None = None  # the page's language when it had no phrase file
    source: str = ""

    def line(self, key: str, **values: str) -> str:
        return self.lines[key].format(**values)

    def reviews_text(self, count: int, number: str) -> str:
        """'1 review' / '128 reviews' (and Polish, Russian ... forms) by the language's plural rules."""
        category = _plural_category(self.locale, count)
        form = self.reviews.get(category) or self.reviews["other"]
        return form.format(n=number)


def _plural_category(locale: str, count: int) -> str:
    try:
        return Locale.parse(locale).plural_form(count)
    except (UnknownLocaleError, ValueError):
        return "one" if count == 1 else "other"


def language_of(notes_language: str | None) -> str:
    """'pt-BR' / 'pt_BR' / 'PT' -> 'pt'; None -> ''."""
    return re.split(r"[-_]", (notes_language or "").strip().lower())[0]


def copy_dirs(templates_dir: Path | None) -> list[Path]:
    """Where phrase files are looked up: the configured templates first, then the packaged ones."""
    dirs = [Path(templates_dir) / "copy"] if templates_dir else []
    dirs.append(SOURCE_ROOT / "templates" / "copy")
    return dirs


def load_phrases(language: str | None, templates_dir: Path | None = None) -> Phrases:
    """Phrases for a page language; English (marked as a fallback) when there is no file for it."""
    lang = language_of(language) or DEFAULT_LANGUAGE
    path = _find(lang, templates_dir)
    if path is None:
        english = _find(DEFAULT_LANGUAGE, templates_dir)
        if english is None:
            raise InputError("no phrase file templates/copy/en.yaml",
                             hint="restore templates/copy/en.yaml from the project")
        return _load(str(english), fallback_from=lang)
    return _load(str(path), fallback_from=None)


def all_junk_terms(templates_dir: Path | None = None) -> tuple[str, ...]:
    """Shop-chrome terms of every language: shops mix languages (English chrome on a Polish page)."""
    terms: list[str] = []
    seen: set[str] = set()
    for folder in copy_dirs(templates_dir):
        for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
            if path.stem in seen:
                continue
            seen.add(path.stem)
            terms += _load(str(path), fallback_from=None).junk
    return tuple(dict.fromkeys(terms))


def _find(lang: str, templates_dir: Path | None) -> Path | None:
    if not re.fullmatch(r"[a-z]{2,3}", lang):
        return None
    return next((d / f"{lang}.yaml" for d in copy_dirs(templates_dir) if (d / f"{lang}.yaml").is_file()), None)


_STRINGS_LOADER = getattr(yaml, "CBaseLoader", yaml.BaseLoader)


def read_yaml_strings(path: str, what: str, hint: str) -> object:
    """A YAML file whose values are all text, read without type guessing ('no' stays 'no').

    The base loader skips the implicit-type resolver, which took most of the parse time;
    a broken file is read again by the safe loader for its precise error message.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
        try:
            return yaml.load(text, Loader=_STRINGS_LOADER)  # noqa: S506 - the base loader builds only str/list/dict
        except yaml.YAMLError:
            return safe_load(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: cannot read the {what} ({exc})", hint=hint) from None


@lru_cache(maxsize=64)
def _load(path: str, fallback_from: str | None) -> Phrases:
    data = read_yaml_strings(path, "phrase file", "fix the YAML; see templates/copy/en.yaml for the layout")
    if not isinstance(data, dict):
        raise InputError(f"{path}: a phrase file must be a mapping", hint="see templates/copy/en.yaml")
    missing = [f"cta.{k}" for k in ANGLE_KINDS if not (data.get("cta") or {}).get(k)]
    missing += [f"lines.{k}" for k in _LINE_KEYS if not (data.get("lines") or {}).get(k)]
    if not (data.get("reviews") or {}).get("other"):
        missing.append("reviews.other")
    if missing:
        raise InputError(f"{path}: missing {', '.join(missing)}", hint="copy the keys from templates/copy/en.yaml")
    return Phrases(
        language=str(data.get("language") or Path(path).stem),
        locale=str(data.get("locale") or "en_US"),
        cta={k: str(v) for k, v in data["cta"].items()},
        lines={k: str(v) for k, v in data["lines"].items()},
        reviews={k: str(v) for k, v in data["reviews"].items()},
        benefit_words=tuple(str(w).lower() for w in data.get("benefit_words") or ()),
        problem_markers=tuple(str(w).lower() for w in data.get("problem_markers") or ()),
        junk=tuple(str(w).lower() for w in data.get("junk") or ()),
        fallback_from=fallback_from,
        source=path,
    )
