"""What the copywriter model is asked: facts with their sources, the brand's voice and words, the rules.

Only text facts go in: scraped images never reach the model. The answer's shape is a JSON
schema built from the brief's own Concept model, so the model fills the fields a hand-edited
brief has.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from creative.copy.concept_rules import CopyRules, language_name
from creative.core.models import Concept, ResearchNotes

# Angles in the order the brief lists them (the drafter's names), with what each one says.
ANGLES: dict[str, str] = {
    "offer": "the offer, stated plainly",
    "benefit": "the product's main benefit",
    "second": "a second, different benefit",
    "proof": "social proof: the rating and reviews in the facts",
    "problem": "a problem the buyer has and how the product solves it",
    "product": "the product itself: what it is",
}
# Angles that need a fact to stand on: the model gets them only when the drafter could write them.
FACT_ANGLES = ("offer", "proof")
# Facts that are not copy material: where the page came from, how it was read, images.
_NOT_FACTS = {"url", "final_url", "backend", "sources", "language", "locale", "image_urls"}
MAIN_TEXT_CHARS = 2000  # enough page text for the model's context without paying for a whole page
SCHEMA_NAME = "brief_concepts"


@dataclass(frozen=True)
class Prompt:
    """The chat messages and the JSON schema of the answer."""

    messages: list[dict[str, str]]
    schema: dict[str, Any]
    angles: list[str]


def angles_for(drafted: list[str]) -> list[str]:
    """The angles the facts allow: offer and proof only where the rules drafter wrote them.

    So the model follows the drafter's rules for them (no offer without one, no proof from a
    poor or unscaled rating); the other angles are the model's to find in the facts.
    """
    return [a for a in ANGLES if a not in FACT_ANGLES or a in drafted]


def facts_of(notes: ResearchNotes, offer: str | None) -> list[dict[str, Any]]:
    """Every text fact with the place it came from; never an image."""
    default_source = notes.final_url or notes.url
    facts = []
    for name, value in notes.model_dump().items():
        if name in _NOT_FACTS or "image" in name or value in (None, "", [], {}):
            continue
        if name == "main_text" and isinstance(value, str):
            value = value[:MAIN_TEXT_CHARS]
        facts.append({"fact": name, "value": value, "source": notes.sources.get(name, default_source)})
    if offer and offer.strip():
        facts.append({"fact": "offer", "value": offer.strip(), "source": "the marketer's offer for this run"})
    return facts


def facts_text(facts: list[dict[str, Any]]) -> str:
    """The facts' values as one text, for checking what the copy quotes."""
    return "\n".join(json.dumps(f["value"], ensure_ascii=False) for f in facts)


def answer_schema(angles: list[str], rules: CopyRules) -> dict[str, Any]:
    """JSON schema of {"concepts": [...]}: the Concept fields, the concept's name asked for as its angle."""
    limits = {"headline": rules.headline_max, "subhead": rules.subhead_max, "cta": rules.cta_max}
    fields = [name for name in Concept.model_fields if name != "name"]
    properties: dict[str, Any] = {"angle": {"type": "string", "enum": angles}}
    for name in fields:
        properties[name] = {"type": "string", **({"maxLength": limits[name]} if name in limits else {})}
    item = {"type": "object", "properties": properties, "required": ["angle", *fields], "additionalProperties": False}
    return {
        "type": "object",
        "properties": {"concepts": {"type": "array", "items": item, "minItems": len(angles), "maxItems": len(angles)}},
        "required": ["concepts"],
        "additionalProperties": False,
    }


def build_prompt(notes: ResearchNotes, *, brand: str, voice: str, offer: str | None, rules: CopyRules,
                 drafted: list[str]) -> Prompt:
    """System rules plus a user message holding the facts as JSON; `drafted`: the rules drafter's concept names."""
    angles = angles_for(drafted)
    language = language_name(rules.language) if rules.language else "the language of the facts"
    refused = [*rules.banned, *rules.avoid]
    angle_lines = "\n".join(f"  {i}. {a}: {ANGLES[a]}" for i, a in enumerate(angles, 1))
    system = f"""You are the copywriter for the brand {brand}. Brand voice: {voice or "clear and friendly"}.
Write {len(angles)} ad concepts, one for each of these angles, in this order:
{angle_lines}
Rules (software checks each one; a concept that breaks any is thrown away):
- Headline, subhead and CTA in {language}, the product page's language.
- Headline at most {rules.headline_max} characters, subhead at most {rules.subhead_max}, CTA at most {rules.cta_max}.
- Use only the facts given. No price, number, rating, percentage or claim that is not in them.
- Never use these words: {", ".join(refused) if refused else "(none)"}.
- Every angle and every headline different.
- Scene: the background photograph only, in English: objects, setting, light. It shows no text,
  letters, logos, labels or signs; the copy is set on top of it later.
- Mood: three to five words.
Answer with one JSON object and nothing else:
{{"concepts": [{{"angle": "...", "headline": "...", "subhead": "...", "cta": "...", "scene": "...", "mood": "..."}}]}}"""
    user = json.dumps({"facts": facts_of(notes, offer)}, ensure_ascii=False, indent=1)
    return Prompt(
        messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
        schema=answer_schema(angles, rules),
        angles=angles,
    )


def repair_message(problems: dict[str, list[str]]) -> dict[str, str]:
    """The follow-up asking once more for the concepts that broke a rule, saying what was wrong."""
    lines = [f"- {angle}: " + "; ".join(errors) for angle, errors in problems.items()]
    text = ("These concepts break the rules:\n" + "\n".join(lines) +
            "\nWrite them again, fixing every problem. Answer with the same JSON object shape, "
            "holding only the concepts for these angles: " + ", ".join(problems) + ".")
    return {"role": "user", "content": text}


def json_retry_message(problem: str) -> dict[str, str]:
    """The follow-up when the answer held no usable JSON object."""
    return {"role": "user", "content": f"Your answer was not the JSON object asked for ({problem}). "
                                       "Answer again with only that JSON object."}
