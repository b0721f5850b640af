"""Mock OpenAI-compatible chat server (aiohttp) for the copywriter: answers well, badly, slowly, or fails.

It answers POST /v1/chat/completions the way OpenAI, Ollama or llama.cpp do (choices, usage,
error bodies) and writes its copy from the facts in the request, so a good answer keeps every
rule the writer checks. Modes:

  good            valid concepts for every angle asked for
  rule-breaking   three concepts break rules; the repair round fixes only the first of them
  broken-json     text that is not a JSON object
  other-language  German copy for an English page, repairs included
  slow            a good answer after `delay_s` seconds
  no-schema       HTTP 400 for json_schema response formats (like older servers), good otherwise
  401, 429, 500   the error answers, with retry-after-ms on 429 and 500 so client back-off is short
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from creative.copy.brief import shorten
from creative.mock.app_thread import AppThread

log = logging.getLogger(__name__)

MODES = ("good", "rule-breaking", "broken-json", "other-language", "slow", "no-schema", "401", "429", "500")
DEFAULT_MODEL = "mock-writer"
SCENE = "an unbranded glass bottle on a wet stone slab, {detail}, soft morning light, shallow depth of field"
SCENE_DETAILS = ("water droplets", "orange slices", "linen folds", "green leaves", "smooth pebbles", "warm shadows")
_GERMAN = ("Strahlende Haut den ganzen Tag", "Sanfte Pflege für jeden Morgen", "Frische Haut ohne Mühe",
           "Leichte Pflege für deine Haut", "Ein Serum für jeden Tag", "Ruhige Pflege am Morgen")


@dataclass
class LlmMockOptions:
    """Behaviour switches for the mock."""

    mode: str = "good"
    delay_s: float = 2.0  # slow mode's answer time
    model: str = DEFAULT_MODEL
    api_key: str | None = None  # when set, any other bearer token gets a 401


@dataclass
class MockLlm:
    """What the mock was asked (for tests to inspect)."""

    options: LlmMockOptions
    requests: list[dict[str, Any]] = field(default_factory=list)
    authorizations: list[str] = field(default_factory=list)


MOCK_KEY = web.AppKey("mock_llm", MockLlm)


def _error(status: int, message: str, kind: str, code: str, headers: dict[str, str] | None = None) -> web.Response:
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return web.json_response(body, status=status, headers=headers)


async def chat_completions(request: web.Request) -> web.Response:
    state = request.app[MOCK_KEY]
    options = state.options
    auth = request.headers.get("Authorization", "")
    state.authorizations.append(auth)
    try:
        body = await request.json()
    except ValueError:
        return _error(400, "We could not parse the JSON body of your request.", "invalid_request_error", "invalid_json")
    state.requests.append(body)
    token = auth.removeprefix("Bearer ").strip()
    if options.mode == "401" or (options.api_key and token != options.api_key):
        # Real servers echo (part of) the key they refused: the client must never pass it on.
        return _error(401, f"Incorrect API key provided: {token}.", "invalid_request_error", "invalid_api_key")
    retry_fast = {"retry-after-ms": "1"}
    if options.mode == "429":
        return _error(429, "Rate limit reached for requests.", "requests", "rate_limit_exceeded", retry_fast)
    if options.mode == "500":
        return _error(500, "The server had an error while processing your request.", "server_error", "server_error",
                      retry_fast)
    response_format = (body.get("response_format") or {}).get("type")
    if options.mode == "no-schema" and response_format == "json_schema":
        return _error(400, "response_format type json_schema is not supported", "invalid_request_error",
                      "unsupported_response_format")
    if options.mode == "slow":
        await asyncio.sleep(options.delay_s)
    messages = body.get("messages") or []
    content = answer_for(options.mode, messages)
    prompt_chars = sum(len(str(m.get("content", ""))) for m in messages)
    usage = {"prompt_tokens": prompt_chars // 4, "completion_tokens": len(content) // 4}
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    return web.json_response({
        "id": f"chatcmpl-mock-{len(state.requests)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", options.model),
        "system_fingerprint": "fp_mock",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": usage,
    })


async def list_models(request: web.Request) -> web.Response:
    model = request.app[MOCK_KEY].options.model
    return web.json_response({"object": "list", "data": [{"id": model, "object": "model", "created": 0,
                                                          "owned_by": "creative-mock"}]})


# --- writing copy from the request ------------------------------------------------------


@dataclass
class _Asked:
    """What the writer's prompt asks for, read back from its text."""

    angles: list[str]
    limits: dict[str, int]
    banned: list[str]
    facts: dict[str, Any]
    repair: bool


def read_request(messages: list[dict[str, Any]]) -> _Asked:
    system = next((str(m["content"]) for m in messages if m.get("role") == "system"), "")
    user = next((str(m["content"]) for m in messages if m.get("role") == "user"), "{}")
    angles = re.findall(r"^\s+\d+\.\s+([a-z0-9-]+):", system, re.M)
    limits = {"headline": 40, "subhead": 60, "cta": 16}
    m = re.search(r"Headline at most (\d+) characters, subhead at most (\d+), CTA at most (\d+)", system)
    if m:
        limits = {"headline": int(m.group(1)), "subhead": int(m.group(2)), "cta": int(m.group(3))}
    m = re.search(r"Never use these words: (.*)\.$", system, re.M)
    banned = [w.strip() for w in m.group(1).split(",")] if m and m.group(1) != "(none)" else []
    try:
        facts = {f["fact"]: f["value"] for f in json.loads(user).get("facts", [])}
    except (ValueError, TypeError, KeyError, AttributeError):
        facts = {}
    last = str(messages[-1].get("content", "")) if messages else ""
    repair = last.startswith("These concepts break the rules")
    if repair:
        m = re.search(r"for these angles: (.*)\.$", last, re.M)
        angles = [a.strip() for a in m.group(1).split(",")] if m else angles
    return _Asked(angles, limits, banned, facts, repair)


def answer_for(mode: str, messages: list[dict[str, Any]]) -> str:
    """The assistant's content for `mode`."""
    if mode == "broken-json":
        return 'Here are your concepts: {"concepts": [{"angle": "offer", "headline": "Glow'
    asked = read_request(messages)
    concepts = [_good(asked, angle, i) for i, angle in enumerate(asked.angles)]
    if mode == "other-language":
        concepts = [{**c, "headline": _GERMAN[i % len(_GERMAN)], "subhead": "Jetzt entdecken und genießen",
                     "cta": "Jetzt kaufen"} for i, c in enumerate(concepts)]
    elif mode == "rule-breaking":
        concepts = _break_rules(concepts, asked)
    return json.dumps({"concepts": concepts}, ensure_ascii=False)


def _break_rules(concepts: list[dict[str, str]], asked: _Asked) -> list[dict[str, str]]:
    """The first three concepts break a rule each; a repair fixes only the first one asked for."""
    banned = asked.banned[0] if asked.banned else "miracle"
    breaks = [
        {"headline": "The best serum ever made, now 50% off for everyone today"},
        {"headline": f"A {banned} for your skin"[: asked.limits["headline"]]},
        {"scene": 'a glass bottle with the words "GLOW" written in neon letters'},
    ]
    out = []
    for i, concept in enumerate(concepts):
        fix = asked.repair and i == 0
        out.append(concept if fix or i >= len(breaks) else {**concept, **breaks[i]})
    return out


def _good(asked: _Asked, angle: str, index: int) -> dict[str, str]:
    """A concept that keeps the rules: copy from the facts, cut to the limits at word boundaries."""
    facts = asked.facts
    product = str(facts.get("product_name") or facts.get("title") or "Our product")
    pool = _phrases(facts, asked.banned)
    if angle == "offer" and facts.get("offer"):
        headline = str(facts["offer"])
    elif angle == "proof" and facts.get("rating"):
        headline = f"Rated {facts['rating']} by {facts.get('review_count') or 'many'} buyers"
    elif angle == "product":
        headline = product
    else:
        headline = pool[index % len(pool)] if pool else f"{product} {angle}"
    return {
        "angle": angle,
        "headline": _cut(headline, asked.limits["headline"]),
        "subhead": _cut(product, asked.limits["subhead"]),
        "cta": _cut("Shop now", asked.limits["cta"]),
        "scene": SCENE.format(detail=SCENE_DETAILS[index % len(SCENE_DETAILS)]),
        "mood": "calm, fresh, clean",
    }


def _phrases(facts: dict[str, Any], banned: list[str]) -> list[str]:
    features = facts.get("features") or []
    text = [str(f) for f in (features if isinstance(features, list) else [features])]
    description = str(facts.get("description") or "")
    text += [s for s in re.split(r"(?<=[.!?])\s+", description) if s]
    return [t.strip(" .") for t in text if not any(b.lower() in t.lower() for b in banned)]


def _cut(text: str, limit: int) -> str:
    return shorten(text, limit)[:limit]


# --- serving ---------------------------------------------------------------------------------


def build_app(options: LlmMockOptions) -> web.Application:
    if options.mode not in MODES:
        raise ValueError(f"unknown mock mode {options.mode!r}; one of: {', '.join(MODES)}")
    app = web.Application()
    app[MOCK_KEY] = MockLlm(options)
    for prefix in ("/v1", ""):
        app.router.add_post(f"{prefix}/chat/completions", chat_completions)
        app.router.add_get(f"{prefix}/models", list_models)
    return app


class MockLlmServer(AppThread):
    """The mock on a free port in a background thread; `base_url` is what brief.llm.base_url takes."""

    def __init__(self, options: LlmMockOptions | None = None, host: str = "127.0.0.1", port: int = 0):
        super().__init__(build_app(options or LlmMockOptions()), host, port, name="mock-llm")

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def state(self) -> MockLlm:
        return self.app[MOCK_KEY]


def serve(host: str, port: int, options: LlmMockOptions) -> None:
    """Run the mock in the foreground until interrupted (for `creative mock-llm`)."""
    web.run_app(build_app(options), host=host, port=port, print=None, access_log=None)
