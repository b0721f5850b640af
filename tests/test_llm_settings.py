"""brief.writer and brief.llm settings, the --writer flag and the mock-llm command."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from creative.cli import _settings, app
from creative.core.config import load_settings
from creative.core.errors import CreativeError
from creative.run.runlog import RunLog


def invoke(*args: str) -> tuple[int, str]:
    """Run the CLI in-process; our errors carry their exit code like the real entry point's."""
    result = CliRunner().invoke(app, list(args))
    if isinstance(result.exception, CreativeError):
        return result.exception.exit_code, result.exception.user_message()
    return result.exit_code, result.output


def test_config_file_and_environment_set_the_writer(tmp_path):
    config = tmp_path / "creative.yaml"
    config.write_text(
        "brief:\n  writer: llm\n  llm:\n    base_url: http://localhost:11434/v1\n    model: qwen2.5:7b\n"
        "    api_key_env: OLLAMA_KEY\n    usd_per_million_input_tokens: 0.5\n    timeout_s: 30\n")
    settings = load_settings(config, env={})
    assert settings.brief.writer == "llm" and not settings.brief.llm_required
    assert settings.brief.llm.model == "qwen2.5:7b" and settings.brief.llm.api_key_env == "OLLAMA_KEY"
    assert settings.brief.llm.usd_per_million_input_tokens == 0.5 and settings.brief.llm.timeout_s == 30
    env = {"CREATIVE_BRIEF_WRITER": "rules", "CREATIVE_LLM_MODEL": "llama3.1:8b"}
    overridden = load_settings(config, env=env)
    assert overridden.brief.writer == "rules" and overridden.brief.llm.model == "llama3.1:8b"
    assert load_settings(None, env={}).brief.writer == "rules"  # the drafter stays the default


def test_bad_writer_settings_name_the_key(tmp_path):
    config = tmp_path / "creative.yaml"
    config.write_text("brief:\n  writer: gpt\n")
    with pytest.raises(CreativeError, match="brief.writer: Input should be 'rules' or 'llm'"):
        load_settings(config, env={})
    config.write_text("brief:\n  llm:\n    timeout_s: 0\n")
    with pytest.raises(CreativeError, match="brief.llm.timeout_s"):
        load_settings(config, env={})


def test_writer_flag_overrides_and_an_explicit_llm_is_required(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _settings(None, writer="llm").brief.llm_required is True
    assert _settings(None, writer="llm").brief.writer == "llm"
    rules = _settings(None, writer="rules")
    assert rules.brief.writer == "rules" and rules.brief.llm_required is False
    (tmp_path / "creative.yaml").write_text("brief:\n  writer: llm\n")
    assert _settings(None).brief.llm_required is False  # from the config file, failures fall back


@pytest.mark.parametrize("command", ["run", "brief"])
def test_unknown_writer_flag_exits_2(tmp_path, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    code, message = invoke(command, "--url", "page.html", "--channel", "meta_static", "--writer", "gpt")
    assert code == 2
    assert "brief.writer" in message and "'rules' or 'llm'" in message


def test_settings_in_the_runlog_mask_a_password_in_the_endpoint():
    settings = load_settings(None, env={}, overrides={"brief.llm.base_url": "https://bob:hunter2pass@llm.example/v1"})
    recorded = json.dumps(settings.redacted())
    assert "hunter2pass" not in recorded and "llm.example/v1" in recorded


def test_runlog_schema_has_the_writer_record():
    writer = RunLog.model_json_schema()["$defs"]["WriterRecord"]["properties"]
    assert {"model", "input_tokens", "output_tokens", "cost_usd", "cache_hits"} <= set(writer)


def test_mock_llm_refuses_an_unknown_mode():
    code, message = invoke("mock-llm", "--mode", "sleepy")
    assert code == 2
    assert "unknown --mode 'sleepy'" in message and "rule-breaking" in message
