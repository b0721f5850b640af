"""The brief's copywriter: the rules drafter, or a language model held to the same rules.

`write_brief` is the one call the brief stage makes. With `brief.writer: llm` the model writes
one concept per angle; each answer is validated with the brief's pydantic models and the
drafter's rules, a concept that breaks a rule is asked for once more with the error, and one
that still breaks it is replaced by the rules drafter's concept (brief.md says so). A model that
cannot be used at all (unreachable, 401, 429, timeout, no JSON, budget) leaves the whole brief to
the rules drafter, or ends the command with exit 1 when `--writer llm` was asked for explicitly.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from pydantic import ValidationError

from creative.budget.ledger import Ledger
from creative.budget.tokens import TokenPrices, estimate_cost, reserved_tokens, token_cost
from creative.copy.brief import draft_brief, render_brief
from creative.copy.concept_rules import CopyRules, concept_errors, duplicate_errors
from creative.copy.llm_client import MAX_OUTPUT_TOKENS, ChatAnswer, ChatClient, ChatFailure
from creative.copy.llm_prompt import (
    SCHEMA_NAME,
    Prompt,
    answer_schema,
    build_prompt,
    facts_of,
    facts_text,
    json_retry_message,
    repair_message,
)
from creative.core.atomic import write_atomic
from creative.core.config import Settings
from creative.core.errors import BudgetRefused, CreativeError
from creative.core.models import Brief, Channel, Concept, ResearchNotes, WriterRecord
from creative.core.progress import Reporter
from creative.core.redact import redact_text, redact_url
from creative.core.text import slugify

log = logging.getLogger(__name__)

LLM_CACHE_DIR = Path(".cache") / "llm"  # under the runs folder, beside the background cache
REQUESTS_RESERVED = 3  # the first answer, one retry for JSON, one repair round
MISSING = "no concept was written for this angle"


class _NoJson(Exception):
    """An answer without the JSON object asked for."""


@dataclass
class _Exchange:
    """The conversation so far and what it cost."""

    client: ChatClient
    record: WriterRecord
    prices: TokenPrices
    messages: list[dict[str, str]]

    def ask(self, schema: dict[str, Any]) -> ChatAnswer:
        answer = self.client.complete(self.messages, schema, SCHEMA_NAME)
        self.record.requests += 1
        self.record.response_format = answer.response_format
        if answer.cached:
            self.record.cache_hits += 1
        else:
            self.record.input_tokens += answer.input_tokens
            self.record.output_tokens += answer.output_tokens
            self.record.cost_usd = round(self.record.cost_usd + token_cost(
                answer.input_tokens, answer.output_tokens, self.prices), 8)
        self.messages = [*self.messages, {"role": "assistant", "content": answer.content}]
        return answer


def write_brief(
    notes: ResearchNotes,
    *,
    brand,
    channel_name: str,
    channel: Channel,
    offer: str | None,
    settings: Settings,
    cta: str | None = None,
    avoid: Iterable[str] = (),
    must_have: Iterable[str] = (),
    ledger: Ledger | None = None,
    ledger_id: str = "brief",
    reporter: Reporter | None = None,
) -> tuple[Brief, WriterRecord]:
    """The brief for these facts from the configured writer, and a record of how it was written.

    `brand` is the brand kit (name, voice, banned_words). Tokens are reserved and settled in
    `ledger` under `ledger_id`. Raises CreativeError (exit 1) when the model fails and
    `settings.brief.llm_required`; BudgetRefused (exit 3) likewise when the guard refuses.
    """
    reporter = reporter or Reporter()
    avoid, must_have = list(avoid), list(must_have)
    rules_brief = draft_brief(notes, brand=brand.name, channel_name=channel_name, channel=channel, offer=offer,
                              cta=cta, avoid=avoid, must_have=must_have, banned_words=brand.banned_words)
    if settings.brief.writer == "rules":
        return rules_brief, WriterRecord(writer="rules", from_rules=[c.name for c in rules_brief.concepts])
    return _llm_brief(notes, rules_brief, brand=brand, channel_name=channel_name, channel=channel, offer=offer,
                      settings=settings, ledger=ledger, ledger_id=ledger_id, reporter=reporter)


def _llm_brief(notes: ResearchNotes, rules_brief: Brief, *, brand, channel_name: str, channel: Channel,
               offer: str | None, settings: Settings, ledger: Ledger | None, ledger_id: str,
               reporter: Reporter) -> tuple[Brief, WriterRecord]:
    """The model's concepts under the drafter's header; the drafter's brief when the model cannot be used."""
    llm = settings.brief.llm
    rules_names = [c.name for c in rules_brief.concepts]
    record = WriterRecord(writer="llm", model=llm.model, base_url=redact_url(llm.base_url))
    client = ChatClient(llm, settings.paths.runs_dir / LLM_CACHE_DIR)
    rules = copy_rules(notes, brand=brand, channel_name=channel_name, channel=channel, offer=offer,
                       avoid=rules_brief.avoid)
    prompt = build_prompt(notes, brand=brand.name, voice=brand.voice, offer=offer, rules=rules, drafted=rules_names)
    prices = TokenPrices(llm.usd_per_million_input_tokens, llm.usd_per_million_output_tokens)
    estimate = estimate_cost(_text_of(prompt.messages), MAX_OUTPUT_TOKENS, prices, requests=REQUESTS_RESERVED)
    try:
        with reserved_tokens(ledger, ledger_id, estimate, reason="brief writer") as spend:
            try:
                written = _model_concepts(_Exchange(client, record, prices, list(prompt.messages)), prompt, rules)
            finally:
                spend.actual_usd = record.cost_usd
    except (ChatFailure, BudgetRefused) as exc:
        reason = exc.reason if isinstance(exc, ChatFailure) else exc.message
        line = f"copywriter model {client.where}: {reason}"
        if settings.brief.llm_required:
            if isinstance(exc, BudgetRefused):
                raise
            raise CreativeError(line, hint="fix the model's settings (brief.llm in creative.yaml), "
                                           "or use --writer rules") from None
        reporter.warn(f"{line}; the rules drafter wrote the brief instead")
        record.fallback, record.from_rules = redact_text(reason), rules_names
        return rules_brief, record

    concepts = _merge(written, prompt.angles, rules_brief.concepts, record)
    # Validated like a hand-edited brief: the drafter's header, the written concepts.
    brief = Brief.model_validate({**rules_brief.model_dump(), "concepts": [c.model_dump() for c in concepts]})
    reporter.info(_summary(record))
    return brief, record


def copy_rules(notes: ResearchNotes, *, brand, channel_name: str, channel: Channel, offer: str | None,
               avoid: Iterable[str]) -> CopyRules:
    """The rules a written concept is checked against, from the facts, brand and channel."""
    names = tuple(n for n in (brand.name, notes.brand, notes.product_name, notes.title) if n)
    return CopyRules(
        headline_max=channel.headline_max_chars, avoid=tuple(avoid), banned=tuple(brand.banned_words),
        language=(notes.language or "").split("-")[0].lower() or None,
        facts=facts_text(facts_of(notes, offer)), names=names, brand=brand.name, channel=channel_name,
    )


# --- asking and checking -------------------------------------------------------------


def _model_concepts(talk: _Exchange, prompt: Prompt, rules: CopyRules) -> dict[str, Concept | list[str]]:
    """Angle -> the model's valid concept, or the errors it still had after the repair round."""
    items = _ask_for_json(talk, prompt.schema)
    found = _check(items, prompt.angles, rules, kept=[])
    broken = {angle: errors for angle, errors in found.items() if isinstance(errors, list)}
    if not broken:
        return found
    talk.messages = [*talk.messages, repair_message(broken)]
    try:
        again = _ask_for_json(talk, answer_schema(list(broken), rules), retry=False)
    except ChatFailure as exc:  # the first answer is still good for the concepts that kept the rules
        log.info("repair round failed: %s", exc.reason)
        return found
    kept = [c for c in found.values() if isinstance(c, Concept)]
    repaired = _check(again, list(broken), rules, kept=kept)
    for angle, result in repaired.items():
        if isinstance(result, Concept):
            talk.record.repaired.append(result.name)
        found[angle] = result  # a concept, or what was still wrong after the repair
    return found


def _ask_for_json(talk: _Exchange, schema: dict[str, Any], retry: bool = True) -> list[Any]:
    """The answer's concept list; an answer without one is asked for again once (`retry`)."""
    answer = talk.ask(schema)
    try:
        return _concept_items(answer.content)
    except _NoJson as exc:
        if not retry:
            raise ChatFailure(f"answered without the JSON object asked for ({exc})") from None
        talk.messages = [*talk.messages, json_retry_message(str(exc))]
        return _ask_for_json(talk, schema, retry=False)


def _concept_items(content: str) -> list[Any]:
    """The `concepts` list of an answer; tolerates a code fence or words around the object."""
    text = content.strip()
    fenced = re.search(r"```(?:json)?\s*(.*?)```", text, re.S)
    if fenced:
        text = fenced.group(1).strip()
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise _NoJson("no JSON object in the answer" if text else "an empty answer")
    try:
        data = json.loads(text[start:end + 1])
    except json.JSONDecodeError as exc:
        raise _NoJson(f"invalid JSON: {exc.msg} at character {exc.pos}") from None
    items = data.get("concepts") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise _NoJson('the object has no "concepts" list')
    return items


def _check(items: list[Any], angles: list[str], rules: CopyRules, kept: list[Concept]) -> dict[str, Concept | list[str]]:
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


# --- merging with the rules drafter -------------------------------------------------


def _merge(written: dict[str, Concept | list[str]], angles: list[str], fallback: list[Concept],
           record: WriterRecord) -> list[Concept]:
    """Model concepts in angle order; a broken one gives way to an unused rules concept, else is left out.

    A broken angle takes the drafter's concept of the same name first, then any the model did not cover.
    """
    kept = [c for c in written.values() if isinstance(c, Concept)]
    names, heads = {c.name for c in kept}, {c.headline.lower() for c in kept}
    spare = [c for c in fallback if c.name not in names and c.headline.lower() not in heads]
    broken = [a for a in angles if not isinstance(written[a], Concept)]
    stand_ins: dict[str, Concept] = {}
    for angle in broken:
        same = next((c for c in spare if c.name == angle), None)
        if same is not None:
            stand_ins[angle] = same
            spare.remove(same)
    for angle in broken:
        if angle not in stand_ins and spare:
            stand_ins[angle] = spare.pop(0)
    out: list[Concept] = []
    for angle in angles:
        result = written[angle]
        if isinstance(result, Concept):
            out.append(result)
            record.from_model.append(result.name)
            continue
        reason = "; ".join(result)
        stand_in = stand_ins.get(angle)
        if stand_in is None:
            record.left_out[angle] = f"the model's copy broke a rule twice and the rules drafter has no concept to spare ({reason})"
            continue
        out.append(stand_in)
        record.from_rules.append(stand_in.name)
        record.notes[stand_in.name] = f"the model's {angle!r} concept broke a rule twice ({reason})"
    if len(out) < 2:  # a brief needs two concepts: top up from the drafter
        for concept in spare[: 2 - len(out)]:
            out.append(concept)
            record.from_rules.append(concept.name)
    return out


# --- reporting and brief.md ----------------------------------------------------------


def _summary(record: WriterRecord) -> str:
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


def _text_of(messages: list[dict[str, str]]) -> str:
    return "\n".join(m["content"] for m in messages)
