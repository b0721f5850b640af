"""Scene prompts: text-free, round-robin over concepts, reproducible seeds."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from creative.core.models import Brief, Concept
from creative.copy.prompts import NEGATIVE_BASE, build_prompts, concept_seed, copy_space
from creative.research import research

ROOT = Path(__file__).resolve().parents[1]
TEXT_TERMS = ["text", "letters", "typography", "words", "logos", "watermarks", "signatures", "captions", "labels"]


def make_brief(**changes) -> Brief:
    concepts = [
        Concept(name="offer", headline="Buy 2, get 1 free", cta="Claim offer",
                scene="serum bottle on a bold orange set", mood="bold, upbeat"),
        Concept(name="benefit", headline="Visibly brighter skin", cta="Shop now",
                scene="dropper bottle on wet stone with citrus slices", mood="fresh"),
        Concept(name="proof", headline="4.7 stars from 1,284 reviews", cta="Try it today",
                scene="bathroom shelf in morning light", mood="warm"),
    ]
    data = {"brand": "Lumen Skin", "channel": "meta_static", "concepts": concepts, **changes}
    return Brief(**data)


def test_round_robin_and_sizes():
    ps = build_prompts(make_brief(), variants=6, width=1080, height=1350)
    assert [v.variant for v in ps.variants] == [1, 2, 3, 4, 5, 6]
    assert [v.concept for v in ps.variants] == ["offer", "benefit", "proof"] * 2
    assert {(v.width, v.height) for v in ps.variants} == {(1080, 1350)}
    assert ps.variants[1].positive.startswith("dropper bottle on wet stone with citrus slices, fresh")


def test_negative_always_excludes_text_and_adds_extra():
    for term in TEXT_TERMS:
        assert term in NEGATIVE_BASE.split(", ")
    ps = build_prompts(make_brief(), variants=4, width=1024, height=1024, negative_extra="people, hands")
    for v in ps.variants:
        assert v.negative.startswith(NEGATIVE_BASE)
        assert v.negative.endswith(", people, hands")
        assert "no text" in v.positive and "no logos" in v.positive


def test_positive_has_mood_palette_copy_space_and_quality():
    ps = build_prompts(make_brief(), variants=1, width=1080, height=1350,
                       palette_words=["warm amber", "cream"], mood="upbeat, optimistic")
    positive = ps.variants[0].positive
    assert positive == (
        "serum bottle on a bold orange set, bold, upbeat, optimistic mood, "
        "colour palette of warm amber, cream, "
        "subject in the lower half, clean negative space in the upper third, "
        "professional commercial product photography, high detail, sharp focus, 8k, "
        "no text, no letters, no logos, unbranded"
    )


def test_copy_space_follows_aspect_ratio():
    assert "left half" in copy_space(1200, 628)
    assert "upper third and the bottom" in copy_space(1080, 1920)
    assert copy_space(1080, 1080) == "subject in the lower half, clean negative space in the upper third"


def test_seeds_are_deterministic_from_concept_content():
    brief = make_brief()
    a = build_prompts(brief, variants=6, width=1024, height=1024)
    b = build_prompts(brief, variants=6, width=1024, height=1024)
    assert a == b
    seeds = [v.seed for v in a.variants]
    assert len(set(seeds)) == 6 and all(0 <= s < 2**32 for s in seeds)
    # Independently recomputed: sha256 of the image-shaping content and the variant number.
    key = json.dumps({"concept": "offer", "scene": "serum bottle on a bold orange set",
                      "mood": "bold, upbeat", "variant": 1}, sort_keys=True, ensure_ascii=False)
    assert seeds[0] == int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % 2**32
    # A copy edit keeps the background; a scene edit changes it.
    edited = brief.model_copy(deep=True)
    edited.concepts[0].headline = "Buy 2, get 1 FREE"
    assert build_prompts(edited, variants=6, width=1024, height=1024).variants[0].seed == seeds[0]
    edited.concepts[0].scene = "serum bottle on a bold pink set"
    changed = build_prompts(edited, variants=6, width=1024, height=1024)
    assert changed.variants[0].seed != seeds[0]
    # Only the edited concept's variants (1 and 4) change.
    assert [v.seed == s for v, s in zip(changed.variants, seeds)] == [False, True, True, False, True, True]
    assert concept_seed(brief.concepts[0], 1) == seeds[0]


def test_seed_override_and_new_seeds():
    ps = build_prompts(make_brief(), variants=4, width=512, height=512, seed=77)
    assert [v.seed for v in ps.variants] == [77, 78, 79, 80]
    fresh = [build_prompts(make_brief(), variants=3, width=512, height=512, new_seeds=True) for _ in range(3)]
    assert len({tuple(v.seed for v in p.variants) for p in fresh}) == 3
    assert all(0 <= v.seed < 2**32 for p in fresh for v in p.variants)


def test_research_images_never_reach_prompts():
    from creative.copy.brief import draft_brief
    from creative.core.models import Channel
    import yaml

    notes = research(str(ROOT / "examples" / "serum.html"))
    assert notes.image_urls
    channels = yaml.safe_load((ROOT / "templates" / "channels.yaml").read_text(encoding="utf-8"))
    brief = draft_brief(notes, brand="Lumen Skin", channel_name="meta_static",
                        channel=Channel.model_validate(channels["meta_static"]), offer="Buy 2 get 1")
    ps = build_prompts(brief, variants=6, width=1080, height=1350)
    dumped = ps.model_dump_json()
    for url in notes.image_urls:
        assert url not in dumped
    assert ".jpg" not in dumped and "http" not in dumped


def test_variants_must_be_positive():
    with pytest.raises(ValueError):
        build_prompts(make_brief(), variants=0, width=512, height=512)
