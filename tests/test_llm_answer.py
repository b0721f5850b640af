"""Reading a copywriter's answer: the JSON object in what models really send, and each concept's problems."""

from __future__ import annotations

import json

import pytest

from creative.copy.concept_rules import CopyRules
from creative.copy.llm_answer import MISSING, NoJson, check_items, concept_items
from creative.core.models import Concept

RULES = CopyRules(headline_max=40, language="en", facts="Vitamin C Glow Serum, brighter skin in 4 weeks")
GOOD = {"angle": "benefit", "headline": "Brighter skin in 4 weeks", "subhead": "Vitamin C Glow Serum",
        "cta": "Shop now", "scene": "a glass bottle on wet stone, soft light", "mood": "fresh"}


@pytest.mark.parametrize("content", [
    json.dumps({"concepts": [GOOD]}),
    "Here you go:\n```json\n" + json.dumps({"concepts": [GOOD]}) + "\n```\nEnjoy!",
    "Sure! " + json.dumps({"concepts": [GOOD]}) + " Let me know.",
])
def test_the_object_is_found_in_what_models_send(content):
    assert concept_items(content) == [GOOD]


@pytest.mark.parametrize("content, problem", [
    ("", "an empty answer"),
    ("I cannot help with that.", "no JSON object in the answer"),
    ('{"concepts": [{"angle": "benefit",}]}', "invalid JSON"),
    ('{"ideas": []}', 'no "concepts" list'),
])
def test_no_json_says_what_was_wrong(content, problem):
    with pytest.raises(NoJson, match=problem):
        concept_items(content)


def test_each_angle_gets_a_concept_or_its_problems():
    items = [
        GOOD,
        {**GOOD, "angle": "benefit", "headline": "A second try at the same angle"},  # repeated: ignored
        {**GOOD, "angle": "Product", "headline": "Vitamin C Glow Serum", "notes": "extra"},  # unknown field
        {**GOOD, "angle": "horoscope"},  # not an angle asked for
        "just a string",
    ]
    found = check_items(items, ["benefit", "product", "proof", "offer", "second"], RULES, kept=[])
    assert found["benefit"] == Concept(name="benefit", **{k: v for k, v in GOOD.items() if k != "angle"})
    assert found["product"] == ["notes: Extra inputs are not permitted"]
    assert found["proof"] == [MISSING] and found["offer"] == [MISSING]
    assert found["second"] == ["concept 5 is not an object"]


def test_a_repair_may_not_repeat_a_kept_headline():
    kept = [Concept(name="benefit", headline="Brighter skin in 4 weeks", cta="Shop now", scene="stone")]
    found = check_items([{**GOOD, "angle": "second"}], ["second"], RULES, kept=kept)
    assert "repeats concept 1's" in found["second"][0]
