"""Cost in real money: the bundled mock is free unless priced, prices honoured, spend per backend."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli_helpers import EXAMPLE_PAGE
from creative.cli import app
from creative.core.config import load_settings
from creative.gen.backends import Backend
from creative.gen.dispatch import GenJob, generate_all
from creative.gen.workflow import default_workflow_path, load_workflow
from creative.mock.runpod import MockRunPodServer, RunPodOptions
from creative.run.pricing import backends_for


REPO = Path(__file__).resolve().parents[1]


def one_job(replayed: bool = False) -> list[GenJob]:
    if replayed:  # the recorded server answers any graph with its recording (output node 4)
        return [GenJob(variant=1, graph={"1": {"seed": 1}}, output_node="4", seed=1, filename="v01.png")]
    wf = load_workflow(default_workflow_path(REPO / "templates"))
    return [GenJob(variant=1, graph=wf.apply("a scene", "text", 1, 64, 64), output_node=wf.output_node, seed=1,
                   filename="v01.png")]


def cost_on(server_url: str, tmp_path: Path, replayed: bool = False, **price: object) -> float:
    backend = Backend(kind="comfyui", url=server_url, **price)  # type: ignore[arg-type]
    [result] = asyncio.run(generate_all(one_job(replayed), [backend], tmp_path / "bg", timeout_s=10, poll_interval_s=0.05))
    assert result.ok, result.error
    [attempt] = result.attempts
    assert attempt.billed
    return attempt.cost_usd


def test_mock_with_a_default_price_costs_nothing(mock_comfy, tmp_path):
    assert cost_on(mock_comfy().url, tmp_path, usd_per_image=0.04, price_configured=False) == 0.0


def test_mock_with_its_own_price_is_charged(mock_comfy, tmp_path):
    assert cost_on(mock_comfy().url, tmp_path, usd_per_image=0.04, price_configured=True) == 0.04


def test_a_real_server_is_charged_the_default_price(replay, tmp_path):
    # The recorded-traffic server answers as ComfyUI does, without the mock's header.
    assert cost_on(replay().url, tmp_path, True, usd_per_image=0.04, price_configured=False) == 0.04


def test_which_prices_count_as_configured(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no creative.yaml
    plain = backends_for(load_settings(None, env={}))
    assert [(b.usd_per_image, b.price_configured) for b in plain] == [(0.04, False)]
    from_env = backends_for(load_settings(None, env={"CREATIVE_COST_PER_IMAGE_USD": "0.05"}))
    assert [(b.usd_per_image, b.price_configured) for b in from_env] == [(0.05, True)]
    mixed = backends_for(load_settings(None, env={}, overrides={"comfyui.backends": [
        {"type": "comfyui", "url": "http://a:8188"},
        {"type": "runpod", "endpoint_id": "e", "usd_per_gpu_hour": 1.2},
    ]}))
    assert [(b.usd_per_image, b.usd_per_gpu_hour, b.price_configured) for b in mixed] == [
        (0.04, None, False), (None, 1.2, True)]


# --- whole runs: the ledger and `creative budget` ------------------------------------------------


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    for var in ("CREATIVE_COST_PER_IMAGE_USD", "CREATIVE_COMFY_URLS", "CREATIVE_RUNS_DIR", "RUNPOD_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_once(*extra: str) -> Path:
    result = CliRunner().invoke(app, ["run", "--url", str(EXAMPLE_PAGE), "--channel", "meta_static", "--offer",
                                      "Buy 2 get 1", "--runs-dir", "runs", "-q", "--variants", "2", *extra])
    assert result.exit_code == 0, (result.output, result.exception)
    return Path(result.stdout.strip().splitlines()[-1])


def budget_json() -> dict:
    result = CliRunner().invoke(app, ["budget", "--runs-dir", "runs", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def settles(workdir: Path) -> list[float]:
    events = [json.loads(line) for line in (workdir / "runs" / "budget.jsonl").read_text().splitlines()]
    return [e["amount_usd"] for e in events if e["event"] == "settle"]


def test_demo_on_the_mock_never_touches_the_budget(workdir, mock_comfy):
    server = mock_comfy()
    run_dir = run_once("--comfy-url", server.url)
    runlog = json.loads((run_dir / "runlog.json").read_text())
    assert runlog["budget"]["estimate_usd"] == 0.0
    assert all(a["billed"] and a["cost_usd"] == 0.0 for v in runlog["variants"] for a in v["attempts"])
    assert settles(workdir) == [0.0]
    summary = budget_json()
    assert summary["settled_usd"] == 0.0 and summary["by_backend"] == {server.url: 0.0}


def test_configured_price_is_honoured_on_the_mock_and_split_per_backend(workdir, mock_comfy, monkeypatch):
    comfy = mock_comfy(latency=0.1)
    endpoint = MockRunPodServer(RunPodOptions(workers=1, latency=0.1)).start()
    try:
        monkeypatch.setenv("RUNPOD_API_KEY", endpoint.options.api_key)
        (workdir / "creative.yaml").write_text(json.dumps({"comfyui": {"backends": [
            {"type": "comfyui", "url": comfy.url, "usd_per_image": 0.05},
            {"type": "runpod", "endpoint_id": endpoint.options.endpoint_id, "base_url": endpoint.url,
             "usd_per_gpu_hour": 36.0},
        ]}}))
        run_dir = run_once("--variants", "4")
    finally:
        endpoint.stop()
    runlog = json.loads((run_dir / "runlog.json").read_text())
    runpod_name = f"{endpoint.url}/v2/{endpoint.options.endpoint_id}"
    by_server: dict[str, float] = {}
    for variant in runlog["variants"]:
        for attempt in variant["attempts"]:
            by_server[attempt["server"]] = by_server.get(attempt["server"], 0.0) + attempt["cost_usd"]
    assert set(by_server) == {comfy.url, runpod_name}
    on_comfy = sum(a["server"] == comfy.url for v in runlog["variants"] for a in v["attempts"])
    assert by_server[comfy.url] == pytest.approx(0.05 * on_comfy)
    assert by_server[runpod_name] > 0  # GPU time at $0.01 a second
    summary = budget_json()
    assert summary["by_backend"] == pytest.approx(by_server)
    assert summary["settled_usd"] == pytest.approx(sum(by_server.values()), abs=1e-6)
    table = CliRunner().invoke(app, ["budget", "--runs-dir", "runs"])
    assert runpod_name in table.stdout and comfy.url in table.stdout


def test_env_price_charges_the_mock(workdir, mock_comfy, monkeypatch):
    monkeypatch.setenv("CREATIVE_COST_PER_IMAGE_USD", "0.04")
    server = mock_comfy()
    run_once("--comfy-url", server.url)
    assert settles(workdir) == [0.08]
    assert budget_json()["by_backend"] == {server.url: 0.08}


def test_a_demo_on_the_mock_runs_when_the_month_is_nearly_spent(workdir, mock_comfy, monkeypatch):
    """The early check before the run folder exists counts only prices the user set: the mock is free."""
    monkeypatch.setenv("CREATIVE_BUDGET_CAP_USD", "0.01")  # less than one image at the default price
    server = mock_comfy()
    run_once("--comfy-url", server.url)
    assert settles(workdir) == [0.0]
    monkeypatch.setenv("CREATIVE_COST_PER_IMAGE_USD", "0.04")  # a price of one's own is checked at once
    refused = CliRunner().invoke(app, ["run", "--url", str(EXAMPLE_PAGE), "--channel", "meta_static", "--runs-dir",
                                       "runs", "-q", "--variants", "2", "--comfy-url", server.url])
    assert refused.exit_code == 3, refused.output
    assert len([p for p in (workdir / "runs").iterdir() if p.is_dir() and not p.name.startswith(".")]) == 1
