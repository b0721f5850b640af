"""The drafter's rules applied to written copy: each rule caught, good copy let through."""

from __future__ import annotations

import pytest

from creative.copy.concept_rules import CopyRules, concept_errors, detect_language, duplicate_errors
from creative.core.models import Concept

FACTS = "Vitamin C Glow Serum\n34.00 USD\nrating 4.7 from 1,284 reviews\nVisibly brighter skin in 4 weeks\nDermatologist tested"
RULES = CopyRules(headline_max=40, avoid=("cheap",), banned=("miracle", "anti-aging"), language="en", facts=FACTS,
                  names=("Lumen Skin", "Vitamin C Glow Serum"))
SCENE = "an unlabeled glass dropper bottle on wet stone, no text, soft morning light"


def concept(**fields: str) -> Concept:
    base = {"name": "benefit", "headline": "Visibly brighter skin in 4 weeks", "subhead": "Vitamin C Glow Serum, just $34",
            "cta": "Shop now", "scene": SCENE, "mood": "fresh"}
    return Concept(**{**base, **fields})


def test_copy_that_keeps_every_rule_passes():
    assert concept_errors(concept(), RULES) == []
    assert concept_errors(concept(headline="4.7 stars from 1.284 reviews"), RULES) == []  # same figures, other grouping


@pytest.mark.parametrize("fields, expected", [
    ({"headline": "Brighter, smoother, calmer skin every single day"}, "its box holds at most 40"),
    ({"subhead": "A daily serum for brighter skin that feels light and stays on all day"}, "subhead"),
    ({"cta": "Shop the whole collection"}, "CTA 'Shop the whole collection' is 25 characters"),
    ({"headline": "A miracle in a bottle"}, "'miracle' from the brand's banned words"),
    ({"subhead": "Not cheap, just good"}, "'cheap' from the brief's avoid list"),
    ({"headline": "Now only $19"}, "'19' is not in the facts"),
    ({"headline": "Brighter skin in 2 weeks"}, "'2' is not in the facts"),
    ({"headline": "30% off your first serum"}, "'30' is not in the facts"),
    ({"headline": "The best serum for glow"}, "the claim 'best' is not in the facts"),
    ({"headline": "Clinically proven glow"}, "the claim 'clinically' is not in the facts"),
    ({"scene": "a bottle beside a neon sign"}, "the scene asks for 'sign'"),
    ({"scene": 'a bottle with "GLOW" on a card'}, "the scene quotes words"),
    ({"scene": "a bottle with a label on marble"}, "the scene asks for 'label'"),
    ({"headline": "Strahlende Haut den ganzen Tag", "subhead": "Jetzt entdecken", "cta": "Jetzt kaufen"},
     "the copy is in German, not in the page's language (English)"),
    ({"headline": " "}, "headline is empty"),
])
def test_each_broken_rule_is_named(fields, expected):
    errors = concept_errors(concept(**fields), RULES)
    assert any(expected in e for e in errors), errors


def test_claims_and_figures_from_the_facts_are_allowed():
    assert concept_errors(concept(headline="Dermatologist tested glow"), RULES) == []
    assert concept_errors(concept(headline="Rated 4.7 by 1284 buyers"), RULES) == []


def test_scene_may_say_what_it_does_not_show():
    for scene in ("a bottle on stone, no text, no logos", "an unlabeled bottle, without any lettering",
                  "a text-free studio set with a plain bottle"):
        assert concept_errors(concept(scene=scene), RULES) == []


def test_language_is_checked_against_the_page_and_names_do_not_count():
    vietnamese = CopyRules(headline_max=40, language="vi", facts=FACTS, names=("Vitamin C Glow Serum",))
    ok = concept(headline="Làn da rạng rỡ cả ngày", subhead="Vitamin C Glow Serum chỉ 34", cta="Mua ngay")
    assert concept_errors(ok, vietnamese) == []
    english = concept(headline="Glow that lasts all day long", subhead="Vitamin C Glow Serum", cta="Shop now")
    assert any("in English, not in the page's language (Vietnamese)" in e for e in concept_errors(english, vietnamese))
    # A headline that is mostly a product name is too short to judge.
    assert concept_errors(concept(headline="Vitamin C Glow Serum", subhead="", cta="Mua ngay"), vietnamese) == []


def test_unknown_page_language_is_not_guessed():
    assert detect_language("Strahlende Haut den ganzen Tag", "xx") is None


def test_repeated_angles_and_headlines_are_flagged():
    concepts = [concept(name="benefit"), concept(name="second", headline="visibly brighter skin in 4  weeks"),
                concept(name="benefit", headline="Other words")]
    errors = duplicate_errors(concepts)
    assert list(errors) == [1, 2]
    assert "repeats concept 1's" in errors[1][0]
    assert "angle 'benefit' is already used by concept 1" in errors[2][0]
