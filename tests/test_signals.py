"""Stopping a run with SIGINT, SIGTERM or SIGKILL: every image the server made for us is paid once.

These need a real process (signals), so they run `python -m creative` against the mock on a free port
and compare the mock's count of finished prompts with what the budget ledger settled.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cli_helpers import EXAMPLE_PAGE

COST = 0.04  # the default price per image


def _start(server, tmp_path: Path, *args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREATIVE_")}
    env["CREATIVE_COST_PER_IMAGE_USD"] = "0.04"  # the mock is free unless priced: these tests count money
    return subprocess.Popen(
        [sys.executable, "-m", "creative", *args, "--comfy-url", server.url, "-q"],
        cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _run(server, tmp_path: Path) -> subprocess.Popen:
    return _start(server, tmp_path, "run", "--url", str(EXAMPLE_PAGE), "--channel", "meta_static",
                  "--runs-dir", "runs", "--no-cache")


def _wait_for(predicate, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout  # only stops a broken run from hanging the suite
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _made(server) -> int:
    """Prompts the server finished with an image."""
    return sum(e["status"] == "success" for e in server.executions)


def _settled(tmp_path: Path) -> float:
    events = [json.loads(line) for line in (tmp_path / "runs" / "budget.jsonl").read_text().splitlines()]
    return round(sum(e["amount_usd"] for e in events if e["event"] == "settle"), 6)


def _stop_mid_generation(server, tmp_path: Path, sig: signal.Signals) -> tuple[subprocess.Popen, Path]:
    process = _run(server, tmp_path)
    # Two images made and the third just started: the signal lands well inside an execution.
    _wait_for(lambda: _made(server) >= 2 and server.executions[-1]["status"] == "running"
              and time.monotonic() - server.executions[-1]["execution_start"] < 0.2, "the third image to start")
    process.send_signal(sig)
    process.communicate(timeout=60)
    return process, next((tmp_path / "runs").glob("2*"))


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_cancels_our_prompts_and_settles_what_was_made(tmp_path, mock_comfy, sig, code):
    server = mock_comfy(latency=0.6)
    process, run_dir = _stop_mid_generation(server, tmp_path, sig)
    assert process.returncode == code
    queue = httpx.get(f"{server.url}/queue").json()
    assert queue["queue_running"] == [] and queue["queue_pending"] == []  # our prompts were cancelled
    runlog = json.loads((run_dir / "runlog.json").read_text())
    assert runlog["status"] == "cancelled" and runlog["exit_code"] == code
    made = _made(server)
    assert made >= 2
    variants = [(v["variant"], v["status"], [(a["outcome"], a["billed"]) for a in v["attempts"]])
                for v in runlog["variants"]]
    # paid for exactly what the server made
    assert _settled(tmp_path) == round(made * COST, 6), (server.executions, variants)
    assert len(list((run_dir / "backgrounds").glob("v*.png"))) == made


def test_sigkill_then_resume_collects_what_the_server_finished_and_pays_once(tmp_path, mock_comfy):
    server = mock_comfy(latency=0.3)
    process, run_dir = _stop_mid_generation(server, tmp_path, signal.SIGKILL)
    assert process.returncode == -signal.SIGKILL
    # The server goes on with the prompts we had queued; every prompt id is in the runlog already.
    _wait_for(lambda: _made(server) == 6, "the server to finish our queued prompts")
    runlog = json.loads((run_dir / "runlog.json").read_text())
    assert all(v["prompt_ids"] for v in runlog["variants"])

    resume = _start(server, tmp_path, "resume", str(run_dir))
    stdout, stderr = resume.communicate(timeout=120)
    assert resume.returncode == 0, stderr
    assert _made(server) == 6  # nothing was generated twice
    assert _settled(tmp_path) == round(6 * COST, 6)
    assert len(list((run_dir / "backgrounds").glob("v*.png"))) == 6


def test_a_run_killed_during_research_is_listed_as_failed(tmp_path):
    from typer.testing import CliRunner

    from creative.cli import app
    from creative.run.runlog import RunLog

    runs = tmp_path / "runs"
    run_dir = runs / "20260101-000000-lumen-skin-meta-static"
    run_dir.mkdir(parents=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a process id that no longer runs
    (run_dir / "runlog.json").write_text(RunLog(run_id=run_dir.name, pid=dead.pid).model_dump_json())
    result = CliRunner().invoke(app, ["runs", "list", "--runs-dir", str(runs), "--json"])
    assert result.exit_code == 0, result.output
    [summary] = json.loads(result.stdout)
    assert summary["status"] == "failed" and "resume" in summary["problem"]


def test_ctrl_c_in_a_batch_cancels_the_products_in_flight_and_resume_finishes_them(tmp_path, mock_comfy):
    server = mock_comfy(latency=0.5)
    feed = tmp_path / "feed.csv"
    feed.write_text("id,title,description,availability,price,link\n" + "".join(
        f"P{n},Product {n},A fine product number {n}.,in stock,10.00 EUR,https://shop.example/p{n}\n"
        for n in (1, 2, 3, 4)))
    process = _start(server, tmp_path, "batch", "--feed", str(feed), "--channel", "meta_static", "--variants", "2",
                     "--runs-dir", "runs")
    _wait_for(lambda: _made(server) >= 1 and server.executions[-1]["status"] == "running", "a second image to start")
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "creative batch resume" in stderr
    queue = httpx.get(f"{server.url}/queue").json()
    assert queue["queue_running"] == [] and queue["queue_pending"] == []  # the products in flight were cancelled
    [batch_dir] = (tmp_path / "runs" / ".batches").iterdir()
    statuses = [p["status"] for p in json.loads((batch_dir / "batch.json").read_text())["products"]]
    assert "cancelled" in statuses and statuses[-1] == "pending", statuses  # the last was never started
    made = _made(server)
    assert _settled(tmp_path) == round(made * COST, 6)  # every image made was paid, once

    resume = _start(server, tmp_path, "batch", "resume", str(batch_dir))
    _, stderr = resume.communicate(timeout=120)
    assert resume.returncode == 0, stderr
    statuses = [p["status"] for p in json.loads((batch_dir / "batch.json").read_text())["products"]]
    assert statuses == ["ok"] * 4
