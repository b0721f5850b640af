"""Brief -> text-free scene prompts with explicit, reproducible seeds (prompts.json)."""

from __future__ import annotations

import hashlib
import json
import logging
import random
from typing import Iterable

from creative.core.models import Brief, Concept, PromptSet, VariantPrompt

log = logging.getLogger(__name__)

# Copy is drawn by the typography stage; the image model must never draw any.
TEXT_EXCLUSIONS = (
    "text, letters, typography, words, logos, watermarks, signatures, captions, labels, "
    "numbers, brand names, writing, symbols, signs, signage, price tags"
)
NEGATIVE_BASE = (
    f"{TEXT_EXCLUSIONS}, blurry, low quality, jpeg artifacts, deformed, distorted, "
    "oversaturated, cluttered, frame, border"
)
POSITIVE_TEXT_FREE = "no text, no letters, no logos, unbranded"
QUALITY = "professional commercial product photography, high detail, sharp focus, 8k"
SEED_LIMIT = 2**32


def copy_space(width: int, height: int) -> str:
    """Where the layout puts copy, by aspect ratio, so the scene leaves that area calm."""
    ratio = width / height
    if ratio >= 1.3:
        return "subject on the right, clean negative space on the left half for copy"
    if ratio <= 0.7:
        return "subject in the middle, clean negative space in the upper third and the bottom quarter"
    return "subject in the lower half, clean negative space in the upper third"


def concept_seed(concept: Concept, variant: int) -> int:
    """Seed from what shapes the image (name, scene, mood) + variant number, < 2**32.

    Copy edits (headline, subhead, CTA) deliberately do not change the background.
    """
    key = json.dumps(
        {"concept": concept.name, "scene": concept.scene, "mood": concept.mood, "variant": variant},
        sort_keys=True, ensure_ascii=False,
    )
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") % SEED_LIMIT


def _join_unique(parts: Iterable[str]) -> str:
    """Comma-join non-empty parts, dropping repeated words across the mood sources."""
    seen: set[str] = set()
    out: list[str] = []
    for part in parts:
        for piece in part.split(","):
            piece = piece.strip()
            if piece and piece.lower() not in seen:
                seen.add(piece.lower())
                out.append(piece)
    return ", ".join(out)


def build_positive(concept: Concept, *, width: int, height: int, palette_words: Iterable[str] = (),
                   mood: str = "") -> str:
    """The positive prompt for one concept: scene, mood, palette, copy space, quality, no text."""
    parts = [concept.scene.strip().rstrip(".")]
    moods = _join_unique([concept.mood, mood])
    if moods:
        parts.append(f"{moods} mood")
    palette = [p.strip() for p in palette_words if p and p.strip()]
    if palette:
        parts.append(f"colour palette of {', '.join(palette)}")
    parts += [copy_space(width, height), QUALITY, POSITIVE_TEXT_FREE]
    return ", ".join(parts)


def build_negative(negative_extra: str = "") -> str:
    extra = negative_extra.strip().strip(",").strip()
    return f"{NEGATIVE_BASE}, {extra}" if extra else NEGATIVE_BASE


def build_prompts(
    brief: Brief,
    *,
    variants: int = 6,
    width: int,
    height: int,
    palette_words: Iterable[str] = (),
    mood: str = "",
    seed: int | None = None,
    new_seeds: bool = False,
    negative_extra: str = "",
) -> PromptSet:
    """One prompt per variant, concepts round-robin. Research images are never part of a prompt."""
    if variants < 1:
        raise ValueError("variants must be >= 1")
    palette = list(palette_words)
    negative = build_negative(negative_extra)
    rng = random.SystemRandom() if new_seeds else None
    out: list[VariantPrompt] = []
    for i in range(1, variants + 1):
        concept = brief.concepts[(i - 1) % len(brief.concepts)]
        if seed is not None:
            s = seed + i - 1
        elif rng is not None:
            s = rng.randrange(SEED_LIMIT)
        else:
            s = concept_seed(concept, i)
        out.append(VariantPrompt(
            variant=i,
            concept=concept.name,
            positive=build_positive(concept, width=width, height=height, palette_words=palette, mood=mood),
            negative=negative,
            seed=s,
            width=width,
            height=height,
        ))
    log.info("built %d prompts over %d concepts", len(out), len(brief.concepts))
    return PromptSet(variants=out)
