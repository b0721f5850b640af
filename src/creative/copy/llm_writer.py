"""The brief's copywriter: the rules drafter, or a language model held to the same rules.

`write_brief` is the one call the brief stage makes. With `brief.writer: llm` the model writes
one concept per angle; each answer is validated with the brief's pydantic models and the
drafter's rules, a concept that breaks a rule is asked for once more with the error, and one
that still breaks it is replaced by the rules drafter's concept (brief.md says so). A model that
cannot be used at all (unreachable, 401, 429, timeout, no JSON, budget) leaves the whole brief to
the rules drafter, or ends the command with exit 1 when `--writer llm` was asked for explicitly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from creative.budget.ledger import Ledger
from creative.budget.tokens import TokenPrices, estimate_cost, reserved_tokens, token_cost
from creative.copy.brief import draft_brief
from creative.copy.concept_rules import CopyRules
from creative.copy.llm_answer import NoJson, check_items, concept_items
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
from creative.copy.writer_notes import render_with_notes, save_brief, summary_line
from creative.core.config import Settings
from creative.core.errors import BudgetRefused, CreativeError
from creative.core.models import Brief, Channel, Concept, ResearchNotes, WriterRecord
from creative.core.progress import Reporter
from creative.core.redact import redact_text, redact_url

log = logging.getLogger(__name__)

REQUESTS_RESERVED = 3  # the first answer, one retry for JSON, one repair round
__all__ = ["write_brief", "save_brief", "render_with_notes", "copy_rules"]


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
    cache_dir: Path | None = None,
) -> tuple[Brief, WriterRecord]:
    """The brief for these facts from the configured writer, and a record of how it was written.

    `brand` is the brand kit (name, voice, banned_words). Tokens are reserved and settled in
    `ledger` under `ledger_id`. Answers are kept in `cache_dir` by the hash of their request
    (None, e.g. for a run's --no-cache: the model is always asked). Raises CreativeError (exit 1) when the model fails and
    `settings.brief.llm_required`; BudgetRefused (exit 3) likewise when the guard refuses.
    """
    reporter = reporter or Reporter()
    avoid, must_have = list(avoid), list(must_have)
    rules_brief = draft_brief(notes, brand=brand.name, channel_name=channel_name, channel=channel, offer=offer,
                              cta=cta, avoid=avoid, must_have=must_have, banned_words=brand.banned_words)
    if settings.brief.writer == "rules":
        return rules_brief, WriterRecord(writer="rules", from_rules=[c.name for c in rules_brief.concepts])
    return _llm_brief(notes, rules_brief, brand=brand, channel_name=channel_name, channel=channel, offer=offer,
                      settings=settings, ledger=ledger, ledger_id=ledger_id, reporter=reporter,
                      cache_dir=cache_dir)


def _llm_brief(notes: ResearchNotes, rules_brief: Brief, *, brand, channel_name: str, channel: Channel,
               offer: str | None, settings: Settings, ledger: Ledger | None, ledger_id: str,
               reporter: Reporter, cache_dir: Path | None) -> tuple[Brief, WriterRecord]:
    """The model's concepts under the drafter's header; the drafter's brief when the model cannot be used."""
    llm = settings.brief.llm
    rules_names = [c.name for c in rules_brief.concepts]
    record = WriterRecord(writer="llm", model=llm.model, base_url=redact_url(llm.base_url))
    client = ChatClient(llm, cache_dir)
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
    reporter.info(summary_line(record))
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
    found = check_items(items, prompt.angles, rules, kept=[])
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
    repaired = check_items(again, list(broken), rules, kept=kept)
    for angle, result in repaired.items():
        if isinstance(result, Concept):
            talk.record.repaired.append(result.name)
        found[angle] = result  # a concept, or what was still wrong after the repair
    return found


def _ask_for_json(talk: _Exchange, schema: dict[str, Any], retry: bool = True) -> list[Any]:
    """The answer's concept list; an answer without one is asked for again once (`retry`)."""
    answer = talk.ask(schema)
    try:
        return concept_items(answer.content)
    except NoJson as exc:
        if not retry:
            raise ChatFailure(f"answered without the JSON object asked for ({exc})") from None
        talk.messages = [*talk.messages, json_retry_message(str(exc))]
        return _ask_for_json(talk, schema, retry=False)


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


def _text_of(messages: list[dict[str, str]]) -> str:
    return "\n".join(m["content"] for m in messages)
