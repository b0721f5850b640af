"""The copywriter model against the project's mock chat server: good, bad and failing answers."""

from __future__ import annotations

import json
from pathlib import Path
from collections.abc import Callable, Iterator

import pytest

from cli_helpers import closed_port
from creative.budget.ledger import Ledger
from creative.copy.brief import check_policy, draft_brief, parse_brief, render_brief
from creative.copy.llm_client import MAX_RETRIES, SEED
from creative.copy.llm_writer import render_with_notes, save_brief, write_brief
from creative.core.errors import EXIT_BUDGET, EXIT_FAILURE, BudgetRefused, CreativeError
from creative.mock.openai import LlmMockOptions, MockLlmServer
from llm_helpers import (REPO, IMAGE_URL, KEY_ENV, PLANTED_KEY, Recorder, brand_and_channel, llm_cache, llm_settings,
                         serum_notes)

ALL_ANGLES = ["offer", "benefit", "second", "proof", "problem", "product"]


@pytest.fixture
def llm_server() -> Iterator[Callable[..., MockLlmServer]]:
    """Factory: `server = llm_server(mode="good", ...)` (LlmMockOptions fields) -> started mock."""
    servers: list[MockLlmServer] = []

    def start(**options: object) -> MockLlmServer:
        servers.append(MockLlmServer(LlmMockOptions(**options)).start())
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def _write(settings, *, offer="Buy 2 get 1", notes=None, ledger=None, reporter=None, avoid=(), use_cache=True):
    brand, channel = brand_and_channel(settings)
    return write_brief(notes or serum_notes(), brand=brand, channel_name="meta_static", channel=channel, offer=offer,
                       settings=settings, avoid=avoid, ledger=ledger, ledger_id="run-1-brief", reporter=reporter,
                       cache_dir=llm_cache(settings) if use_cache else None)


def _rules_brief(settings, offer="Buy 2 get 1"):
    brand, channel = brand_and_channel(settings)
    return draft_brief(serum_notes(), brand=brand.name, channel_name="meta_static", channel=channel, offer=offer,
                       banned_words=brand.banned_words)


def _ledger_events(settings) -> list[dict]:
    path = settings.paths.runs_dir / "budget.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_good_answer_gives_one_concept_per_angle_from_the_facts(tmp_path, llm_server):
    server = llm_server(mode="good")
    settings = llm_settings(tmp_path, server.base_url)
    brand, _ = brand_and_channel(settings)
    ledger = Ledger(settings.paths.runs_dir / "budget.jsonl", cap=100)
    reporter = Recorder()

    brief, record = _write(settings, ledger=ledger, reporter=reporter, avoid=["cheap"])

    assert [c.name for c in brief.concepts] == ALL_ANGLES
    assert record.from_model == ALL_ANGLES and not record.from_rules and record.fallback is None
    assert brief.concepts[0].headline == "Buy 2 get 1"
    assert brief.concepts[3].headline == "Rated 4.7 by 1284 buyers"
    assert len({c.headline for c in brief.concepts}) == 6
    check_policy(brief, brand.banned_words)  # the same policy as a hand-edited brief
    assert brief.avoid == ["cheap"] and brief.brand == "Lumen Skin" and brief.offer == "Buy 2 get 1"

    # Tokens from the response's usage, priced from the settings, settled under the brief's own ledger id.
    [request] = server.state.requests
    prompt_chars = sum(len(m["content"]) for m in request["messages"])
    assert record.input_tokens == prompt_chars // 4
    assert record.output_tokens > 0
    expected = (record.input_tokens * 2.5 + record.output_tokens * 10.0) / 1_000_000
    assert record.cost_usd == pytest.approx(expected)
    events = _ledger_events(settings)
    assert [e["event"] for e in events] == ["reserve", "settle"]
    assert {e["run_id"] for e in events} == {"run-1-brief"}
    assert events[0]["amount_usd"] >= events[1]["amount_usd"] == pytest.approx(expected, abs=1e-6)
    assert any("6 concepts" in line and "tokens" in line for line in reporter.infos)


def test_request_is_reproducible_structured_and_carries_only_text_facts(tmp_path, llm_server):
    server = llm_server(mode="good")
    _write(llm_settings(tmp_path, server.base_url), avoid=["cheap"])
    [request] = server.state.requests
    assert request["temperature"] == 0 and request["seed"] == SEED
    schema = request["response_format"]["json_schema"]["schema"]
    item = schema["properties"]["concepts"]["items"]
    assert item["properties"]["angle"]["enum"] == ALL_ANGLES
    assert item["properties"]["headline"]["maxLength"] == 40
    assert set(item["required"]) == {"angle", "headline", "subhead", "cta", "scene", "mood"}
    system, user = request["messages"]
    assert "Calm, clear and kind" in system["content"]  # the brand's voice
    assert "miracle" in system["content"] and "cheap" in system["content"]  # banned words and avoid list
    assert "English" in system["content"]
    facts = {f["fact"]: f for f in json.loads(user["content"])["facts"]}
    assert facts["price"]["source"] == "json-ld Product.offers.price"
    assert facts["description"]["source"] == "https://shop.example/p/glow-serum"
    assert facts["offer"]["value"] == "Buy 2 get 1"
    text = json.dumps(request)
    assert IMAGE_URL not in text and "image_url" not in text and "image" not in facts


def test_rerun_is_answered_from_the_cache_at_no_cost(tmp_path, llm_server, monkeypatch):
    monkeypatch.setenv(KEY_ENV, PLANTED_KEY)
    server = llm_server(mode="good", api_key=PLANTED_KEY)
    settings = llm_settings(tmp_path, server.base_url)
    first, _ = _write(settings)
    again, record = _write(settings, ledger=Ledger(settings.paths.runs_dir / "budget.jsonl", cap=100))
    assert len(server.state.requests) == 1
    assert again == first
    assert record.cache_hits == 1 and record.requests == 1
    assert record.cost_usd == 0 and record.input_tokens == 0
    assert _ledger_events(settings)[-1]["amount_usd"] == 0
    _, fresh = _write(settings, use_cache=False)  # --no-cache asks again, and pays again
    assert len(server.state.requests) == 2 and fresh.cache_hits == 0 and fresh.cost_usd > 0
    [entry] = llm_cache(settings).glob("*.json")
    assert json.loads(entry.read_text())["output_tokens"] > 0
    assert all(PLANTED_KEY not in p.read_text() for p in settings.paths.runs_dir.rglob("*") if p.is_file())


def test_rule_breaking_concepts_are_repaired_once_then_replaced(tmp_path, llm_server):
    server = llm_server(mode="rule-breaking")
    settings = llm_settings(tmp_path, server.base_url)
    brief, record = _write(settings)

    # offer was fixed by the repair round; benefit is the drafter's; second had no drafter concept to spare.
    assert record.repaired == ["offer"]
    assert record.from_model == ["offer", "proof", "problem", "product"]
    assert record.from_rules == ["benefit"]
    assert list(record.left_out) == ["second"]
    rules = {c.name: c for c in _rules_brief(settings).concepts}
    assert [c.name for c in brief.concepts] == ["offer", "benefit", "proof", "problem", "product"]
    assert brief.concepts[1] == rules["benefit"]
    assert "cure" in record.notes["benefit"] and "banned" in record.notes["benefit"]
    assert "text-free" in record.left_out["second"]

    # The repair asked only for the broken angles and said what was wrong with each.
    first, repair = server.state.requests
    ask = repair["messages"][-1]["content"]
    assert "its box holds at most 40" in ask and "'50' is not in the facts" in ask and "best" in ask
    assert "for these angles: offer, benefit, second." in ask
    assert repair["response_format"]["json_schema"]["schema"]["properties"]["concepts"]["maxItems"] == 3

    # brief.md says who wrote what, and still parses to the same brief.
    path = tmp_path / "brief.md"
    save_brief(brief, record, path)
    text = path.read_text()
    assert "<!-- Concept benefit written by the rules drafter: the model's 'benefit' concept broke a rule" in text
    assert "<!-- Angle second left out:" in text
    assert "repaired once: offer" in text
    assert parse_brief(text) == brief


def test_copy_in_another_language_is_replaced_by_the_drafters(tmp_path, llm_server):
    server = llm_server(mode="other-language")
    settings = llm_settings(tmp_path, server.base_url)
    brief, record = _write(settings)
    assert record.from_model == [] and record.fallback is None
    assert brief.concepts == _rules_brief(settings).concepts
    assert all("German, not in the page's language (English)" in note for note in record.notes.values())
    assert len(server.state.requests) == 2


def test_broken_json_falls_back_to_the_rules_drafter(tmp_path, llm_server):
    server = llm_server(mode="broken-json")
    settings = llm_settings(tmp_path, server.base_url)
    reporter = Recorder()
    brief, record = _write(settings, reporter=reporter)
    assert brief == _rules_brief(settings)
    assert len(server.state.requests) == 2  # asked once more for the JSON object
    assert "without the JSON object" in record.fallback
    [line] = reporter.warnings
    assert line.startswith("copywriter model mock-writer at http://127.0.0.1:")
    assert line.endswith("the rules drafter wrote the brief instead")
    assert "The rules drafter wrote this brief" in render_with_notes(brief, record)


def test_server_without_json_schema_is_asked_for_a_json_object(tmp_path, llm_server):
    server = llm_server(mode="no-schema")
    brief, record = _write(llm_settings(tmp_path, server.base_url))
    sent = [r.get("response_format", {}) for r in server.state.requests]
    assert [f.get("type") for f in sent] == ["json_schema", "json_schema", "json_object"]
    assert "maxLength" in json.dumps(sent[0]) and "maxLength" not in json.dumps(sent[1])  # then without limits
    assert record.response_format == "json_object"
    assert record.from_model == ALL_ANGLES
    again, record = _write(llm_settings(tmp_path, server.base_url))
    assert len(server.state.requests) == 3 and record.cache_hits == 1 and again == brief  # no new 400s


@pytest.mark.parametrize("mode, requests, phrase", [
    ("401", 1, "refused the API key (HTTP 401)"),
    ("429", MAX_RETRIES + 1, f"still rate-limited (HTTP 429) after {MAX_RETRIES} retries"),
    ("500", MAX_RETRIES + 1, "answered HTTP 500"),
    ("slow", MAX_RETRIES + 1, "no answer within 0.2 s"),
])
def test_failing_server_falls_back_with_a_clear_line(tmp_path, llm_server, monkeypatch, mode, requests, phrase):
    monkeypatch.setenv(KEY_ENV, PLANTED_KEY)
    server = llm_server(mode=mode, delay_s=1.0)
    settings = llm_settings(tmp_path, server.base_url, **{"brief.llm.timeout_s": 0.2})
    reporter = Recorder()
    brief, record = _write(settings, reporter=reporter)
    assert brief == _rules_brief(settings)
    assert len(server.state.requests) == requests
    assert server.state.authorizations[0] == f"Bearer {PLANTED_KEY}"
    [line] = reporter.warnings
    assert phrase in line and phrase in record.fallback
    path = tmp_path / "brief.md"
    save_brief(brief, record, path)
    for text in (line, record.model_dump_json(), path.read_text()):
        assert PLANTED_KEY not in text  # the 401 answer echoes the key; it must go no further


def test_unreachable_server_falls_back(tmp_path):
    settings = llm_settings(tmp_path, f"http://127.0.0.1:{closed_port()}/v1")
    reporter = Recorder()
    brief, record = _write(settings, reporter=reporter)
    assert brief == _rules_brief(settings)
    assert "cannot reach http://127.0.0.1:" in reporter.warnings[0]
    assert record.fallback.startswith("cannot reach")


def test_explicit_llm_writer_fails_with_exit_1(tmp_path, llm_server, monkeypatch):
    monkeypatch.setenv(KEY_ENV, PLANTED_KEY)
    server = llm_server(mode="401")
    settings = llm_settings(tmp_path, server.base_url, **{"brief.llm_required": True})
    with pytest.raises(CreativeError) as caught:
        _write(settings)
    assert caught.value.exit_code == EXIT_FAILURE
    assert "refused the API key" in caught.value.message and f"${KEY_ENV}" in caught.value.message
    assert PLANTED_KEY not in caught.value.user_message()


def test_budget_guard_prices_the_tokens_before_asking(tmp_path, llm_server):
    server = llm_server(mode="good")
    expensive = {"brief.llm.usd_per_million_input_tokens": 1_000_000.0}
    settings = llm_settings(tmp_path, server.base_url, **expensive)
    ledger = Ledger(settings.paths.runs_dir / "budget.jsonl", cap=5)
    reporter = Recorder()
    brief, record = _write(settings, ledger=ledger, reporter=reporter)
    assert server.state.requests == []
    assert brief == _rules_brief(settings)
    assert "budget guard refused" in record.fallback and "budget guard refused" in reporter.warnings[0]

    strict = llm_settings(tmp_path, server.base_url, **expensive, **{"brief.llm_required": True})
    with pytest.raises(BudgetRefused) as caught:
        _write(strict, ledger=ledger)
    assert caught.value.exit_code == EXIT_BUDGET
    assert _ledger_events(settings) == []


def test_free_local_model_writes_nothing_to_the_ledger(tmp_path, llm_server):
    server = llm_server(mode="good")
    settings = llm_settings(tmp_path, server.base_url, **{"brief.llm.usd_per_million_input_tokens": 0,
                                                          "brief.llm.usd_per_million_output_tokens": 0})
    _, record = _write(settings, ledger=Ledger(settings.paths.runs_dir / "budget.jsonl", cap=100))
    assert record.cost_usd == 0 and record.input_tokens > 0
    assert _ledger_events(settings) == []


def test_rules_writer_asks_no_model(tmp_path, llm_server):
    server = llm_server(mode="good")
    settings = llm_settings(tmp_path, server.base_url, **{"brief.writer": "rules"})
    brief, record = _write(settings)
    assert server.state.requests == []
    assert brief == _rules_brief(settings)
    assert record.writer == "rules" and record.from_rules == [c.name for c in brief.concepts]
    assert render_with_notes(brief, record) == render_brief(brief)  # no writer comments


def test_angles_follow_the_facts(tmp_path, llm_server):
    server = llm_server(mode="good")
    settings = llm_settings(tmp_path, server.base_url)
    brief, _ = _write(settings, offer=None, notes=serum_notes(rating=3.2))
    assert [c.name for c in brief.concepts] == ["benefit", "second", "problem", "product"]
    assert "proof" not in server.state.requests[0]["messages"][0]["content"]  # the drafter's rating rule


def test_brief_command_uses_the_writer_and_records_it(tmp_path, llm_server, monkeypatch):
    from typer.testing import CliRunner

    from creative.cli import app
    from creative.run.folder import RunFolder

    server = llm_server(mode="good")
    monkeypatch.setenv(KEY_ENV, PLANTED_KEY)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "creative.yaml").write_text(
        f"brief:\n  writer: llm\n  llm:\n    base_url: {server.base_url}\n    model: mock-writer\n"
        f"    api_key_env: {KEY_ENV}\n")
    args = ["brief", "--url", str(REPO / "examples" / "serum.html"), "--channel", "meta_static",
            "--runs-dir", str(tmp_path / "runs"), "-q"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    folder = RunFolder(Path(first.stdout.strip().splitlines()[-1]).parent)
    writer = folder.read_runlog().writer
    assert writer.writer == "llm" and writer.from_model and writer.cache_hits == 0
    assert len(folder.read_brief().concepts) >= 3
    again = CliRunner().invoke(app, args)  # the same facts: answered from the cache under runs/.cache/llm
    assert again.exit_code == 0, again.output
    rerun = RunFolder(Path(again.stdout.strip().splitlines()[-1]).parent).read_runlog().writer
    assert rerun.cache_hits > 0 and rerun.from_model == writer.from_model
    assert not any(PLANTED_KEY in p.read_text(errors="ignore") for p in (tmp_path / "runs").rglob("*") if p.is_file())
