"""Run lifecycle through the real CLI: partial failures, Ctrl-C, cache, resume, regen, brief-only."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from cli_helpers import EXAMPLE_PAGE
from cli_helpers import run_creative as run_unpriced

# The mock is free unless a price is configured: these tests count money, so they set one.
PRICED = {"CREATIVE_COST_PER_IMAGE_USD": "0.04"}


def run_creative(*args: str, cwd: Path, env: dict[str, str] | None = None, **kw):
    return run_unpriced(*args, cwd=cwd, env={**PRICED, **(env or {})}, **kw)


def run_args(server, runs="runs", *extra: str) -> tuple[str, ...]:
    return ("run", "--url", str(EXAMPLE_PAGE), "--channel", "meta_static", "--offer", "Buy 2 get 1",
            "--comfy-url", server.url, "--runs-dir", runs, "-q", *extra)


def ledger_events(tmp_path: Path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "runs" / "budget.jsonl").read_text().splitlines()]


def test_partial_failure_delivers_the_rest_and_exits_4(tmp_path, mock_comfy):
    # The first seven executions fail. Each variant gets one retry, so at least one variant (two
    # when retries overtake the last first attempts in the queue) fails for good; the rest succeed.
    server = mock_comfy(fail_first=7)
    result = run_creative(*run_args(server), cwd=tmp_path)
    assert result.returncode == 4, result.stderr
    run_dir = Path(result.stdout.strip().splitlines()[-1])
    runlog = json.loads((run_dir / "runlog.json").read_text())
    assert runlog["status"] == "partial" and runlog["exit_code"] == 4
    failed = [v for v in runlog["variants"] if v["status"] == "failed"]
    assert 1 <= len(failed) <= 2
    error_line = result.stderr.strip().splitlines()[-1]
    assert f"{len(failed)} of 6 variants failed" in error_line
    for variant in failed:
        assert f"v{variant['variant']:02d}:" in error_line
        assert [a["outcome"] for a in variant["attempts"]] == ["error", "error"]  # at most one retry
    assert all(len(v["attempts"]) == 2 for v in runlog["variants"])  # seven failures: every first attempt failed
    ads = sorted(p.name for p in (run_dir / "ads").iterdir())
    assert len(ads) == 2 * (6 - len(failed))
    assert not any(f"_v{v['variant']:02d}_" in name for v in failed for name in ads)


def test_rerun_of_same_brief_is_served_from_cache_at_no_cost(tmp_path, mock_comfy):
    server = mock_comfy()
    first = run_creative(*run_args(server, "runs", "--variants", "2"), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    first_dir = Path(first.stdout.strip().splitlines()[-1])
    sent = len(server.received_prompts)

    again = run_creative("run", "--brief", str(first_dir / "brief.md"), "--variants", "2", "--comfy-url", server.url,
                         "--runs-dir", "runs", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "2 of 2 variants came from the cache" in again.stderr
    assert len(server.received_prompts) == sent  # nothing sent to ComfyUI
    second_dir = Path(again.stdout.strip().splitlines()[-1])
    for number in range(1, 3):
        name = f"backgrounds/v{number:02d}.png"
        assert (first_dir / name).read_bytes() == (second_dir / name).read_bytes()
    settles = [e for e in ledger_events(tmp_path) if e["event"] == "settle"]
    assert [e["amount_usd"] for e in settles] == [0.08, 0.0]

    forced = run_creative("run", "--brief", str(first_dir / "brief.md"), "--variants", "2", "--comfy-url", server.url,
                          "--runs-dir", "runs", "-q", "--no-cache", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert len(server.received_prompts) == sent + 2


def test_seeds_are_reproducible_unless_asked(tmp_path, mock_comfy):
    server = mock_comfy()
    seeds = []
    for extra in ((), (), ("--new-seeds",), ("--seed", "1000")):
        result = run_creative(*run_args(server, "runs", "--variants", "2", "--no-cache", *extra), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        prompts = json.loads((Path(result.stdout.strip().splitlines()[-1]) / "prompts.json").read_text())
        seeds.append([p["seed"] for p in prompts["variants"]])
    assert seeds[0] == seeds[1]
    assert seeds[2] != seeds[0]
    assert seeds[3] == [1000, 1001]


def _start_run(server, tmp_path, *extra: str) -> subprocess.Popen:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("CREATIVE_")}, **PRICED}
    return subprocess.Popen(
        [sys.executable, "-m", "creative", *run_args(server, "runs", *extra)],
        cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _wait_for(predicate) -> None:
    """Wait until `predicate()` holds; a hang is ended by the suite's per-test timeout (pyproject)."""
    while not predicate():
        time.sleep(0.05)


def _queue(server) -> dict:
    import httpx

    return httpx.get(f"{server.url}/queue").json()


def test_ctrl_c_cancels_only_our_prompts_and_records_cancelled(tmp_path, mock_comfy):
    import uuid

    import httpx

    server = mock_comfy(hang=True)
    # A bystander's prompt, queued by someone else, must survive our Ctrl-C.
    process = _start_run(server, tmp_path)
    _wait_for(lambda: len(server.received_prompts) == 6)
    bystander = dict(server.received_prompts[0])
    bystander.update(client_id="someone-else", prompt_id=str(uuid.uuid4()))
    assert httpx.post(f"{server.url}/prompt", json=bystander).status_code == 200
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "cancelled" in stderr and "Traceback" not in stderr
    queue = _queue(server)
    remaining = [item[1] for item in queue["queue_running"] + queue["queue_pending"]]
    assert remaining == [bystander["prompt_id"]]
    run_dir = next((tmp_path / "runs").glob("2*"))
    runlog = json.loads((run_dir / "runlog.json").read_text())
    assert runlog["status"] == "cancelled" and runlog["exit_code"] == 130


def test_sigkill_keeps_reservation_and_resume_finishes_reusing_backgrounds(tmp_path, mock_comfy):
    server = mock_comfy(latency=0.4)
    process = _start_run(server, tmp_path)
    backgrounds = tmp_path / "runs"
    _wait_for(lambda: len(list(backgrounds.glob("*/backgrounds/v*.png"))) >= 2)
    process.kill()
    process.wait(timeout=10)
    run_dir = next(backgrounds.glob("2*"))
    on_disk = sorted(p.name for p in (run_dir / "backgrounds").glob("v*.png"))
    assert 2 <= len(on_disk) < 6
    events = ledger_events(tmp_path)
    assert [e["event"] for e in events] == ["reserve"]  # spend is never under-counted
    # The runlog tells the truth up to the crash: valid, still running, stages before generate done.
    crashed = json.loads((run_dir / "runlog.json").read_text())
    assert crashed["status"] == "running" and crashed["exit_code"] is None
    assert [(s["name"], s["outcome"]) for s in crashed["stages"]] == [
        ("research", "ok"), ("brief", "ok"), ("prompts", "ok"), ("budget", "ok"), ("generate", "running")]

    budget = run_creative("budget", "--runs-dir", "runs", "--json", cwd=tmp_path)
    summary = json.loads(budget.stdout)
    assert summary["reserved_usd"] == 0.24
    assert [r["status"] for r in summary["runs"]] == ["stale"]

    before = {name: (run_dir / "backgrounds" / name).read_bytes() for name in on_disk}
    sent = len(server.received_prompts)
    resumed = run_creative("resume", str(run_dir), "--comfy-url", server.url, "-q", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.strip().splitlines()[-1] == str(run_dir)
    # The killed run's prompts went on on the server: resume collects them, generating nothing again.
    assert server.received_prompts[sent:] == []
    assert len(server.received_prompts) == 6
    for name, data in before.items():
        assert (run_dir / "backgrounds" / name).read_bytes() == data
    assert len(list((run_dir / "ads").iterdir())) == 12
    runlog = json.loads((run_dir / "runlog.json").read_text())
    assert runlog["status"] == "ok" and runlog["history"][-1]["action"] == "resume"
    events = ledger_events(tmp_path)
    assert [e["event"] for e in events] == ["reserve", "settle"] and events[1]["amount_usd"] == 0.24


def test_budget_release_of_a_run_that_will_not_be_resumed(tmp_path, mock_comfy):
    server = mock_comfy(hang=True)
    process = _start_run(server, tmp_path)
    _wait_for(lambda: len(server.received_prompts) == 6)
    process.kill()
    process.wait(timeout=10)
    run_dir = next((tmp_path / "runs").glob("2*"))
    released = run_creative("budget", "release", str(run_dir), "--config", str(_empty_config(tmp_path)), cwd=tmp_path)
    assert released.returncode == 0, released.stderr
    assert "released $0.24" in released.stderr
    summary = json.loads(run_creative("budget", "--runs-dir", "runs", "--json", cwd=tmp_path).stdout)
    assert summary["reserved_usd"] == 0 and summary["runs"][0]["status"] == "released"
    again = run_creative("budget", "release", str(run_dir), cwd=tmp_path)
    assert again.returncode == 1 and "no open reservation" in again.stderr


def _empty_config(tmp_path: Path) -> Path:
    path = tmp_path / "creative.yaml"
    path.write_text("paths:\n  runs_dir: runs\n")
    return path


def test_regen_one_variant_with_new_seed(tmp_path, mock_comfy):
    server = mock_comfy()
    result = run_creative(*run_args(server, "runs", "--variants", "3"), cwd=tmp_path)
    run_dir = Path(result.stdout.strip().splitlines()[-1])
    ads_before = {p.name: p.read_bytes() for p in (run_dir / "ads").iterdir()}
    background_before = (run_dir / "backgrounds" / "v03.png").read_bytes()

    regen = run_creative("regen", str(run_dir), "--variant", "3", "--seed", "4242", "--comfy-url", server.url, "-q", cwd=tmp_path)
    assert regen.returncode == 0, regen.stderr
    assert (run_dir / "backgrounds" / "v03.png").read_bytes() != background_before
    ads_after = {p.name: p.read_bytes() for p in (run_dir / "ads").iterdir()}
    assert set(ads_after) == set(ads_before)
    changed = sorted(name for name in ads_after if ads_after[name] != ads_before[name])
    assert len(changed) == 2 and all("_v03_" in name for name in changed)
    prompts = json.loads((run_dir / "prompts.json").read_text())["variants"]
    assert prompts[2]["seed"] == 4242
    runlog = json.loads((run_dir / "runlog.json").read_text())
    assert runlog["variants"][2]["seed"] == 4242
    assert runlog["history"][-1] == {**runlog["history"][-1], "action": "regen", "variant": 3, "seed_after": 4242}
    settles = [e for e in ledger_events(tmp_path) if e["event"] == "settle"]
    assert [e["amount_usd"] for e in settles] == [0.12, 0.04]

    missing = run_creative("regen", str(run_dir), "--variant", "9", "--comfy-url", server.url, cwd=tmp_path)
    assert missing.returncode == 2 and "no variant 9" in missing.stderr


def test_brief_only_then_run_from_edited_brief(tmp_path, mock_comfy):
    server = mock_comfy()
    drafted = run_creative("brief", "--url", str(EXAMPLE_PAGE), "--channel", "meta_static", "--runs-dir", "runs", "-q", cwd=tmp_path)
    assert drafted.returncode == 0, drafted.stderr
    brief_path = Path(drafted.stdout.strip().splitlines()[-1])
    assert brief_path.name == "brief.md" and (brief_path.parent / "research.json").is_file()
    assert not (brief_path.parent / "backgrounds").exists() and server.received_prompts == []

    text = brief_path.read_text()
    headline = next(line for line in text.splitlines() if line.startswith("- **Headline:**"))
    edited = text.replace(headline, "- **Headline:** Hand-written headline", 1)
    brief_path.write_text(edited)
    result = run_creative("run", "--brief", str(brief_path), "--variants", "2", "--comfy-url", server.url, "--runs-dir", "runs",
                          "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    run_dir = Path(result.stdout.strip().splitlines()[-1])
    assert (run_dir / "brief.md").read_text() == edited
    runlog = json.loads((run_dir / "runlog.json").read_text())
    drawn = [box["text"] for v in runlog["variants"] for ad in v["ads"] for box in ad["boxes"] if box["box"] == "headline"]
    assert "Hand-written headline" in drawn


def test_dry_run_spends_nothing(tmp_path, mock_comfy):
    (tmp_path / "creative.yaml").write_text("budget:\n  monthly_cap_usd: 0.2\n")
    result = run_creative("run", "--url", str(EXAMPLE_PAGE), "--channel", "meta_static", "--runs-dir", "runs", "--dry-run", cwd=tmp_path)
    assert result.returncode == 3
    verdict = json.loads(result.stdout)
    assert verdict == {**verdict, "estimate_usd": 0.24, "cap_usd": 0.2, "allowed": False}
    ok = run_creative("run", "--url", str(EXAMPLE_PAGE), "--channel", "meta_static", "--runs-dir", "runs", "--dry-run", "--variants", "2", cwd=tmp_path)
    assert ok.returncode == 0 and json.loads(ok.stdout)["allowed"] is True
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_runs_list_show_and_schema(tmp_path, mock_comfy):
    server = mock_comfy()
    result = run_creative(*run_args(server, "runs", "--variants", "2"), cwd=tmp_path)
    run_dir = Path(result.stdout.strip().splitlines()[-1])
    future = tmp_path / "runs" / "20990101-000000-future"
    future.mkdir()
    (future / "runlog.json").write_text(json.dumps({"version": 99, "run_id": "future-run", "status": "ok", "hologram": True}))
    broken = tmp_path / "runs" / "20000101-000000-broken"
    broken.mkdir()
    (broken / "runlog.json").write_text("{half")

    listing = run_creative("runs", "list", "--runs-dir", "runs", "--json", cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    rows = {row["run_id"]: row for row in json.loads(listing.stdout)}
    assert rows[run_dir.name]["variants_ok"] == 2 and rows[run_dir.name]["channel"] == "meta_static"
    assert rows[run_dir.name]["cost_usd"] == 0.08
    assert "newer" in rows["future-run"]["problem"]
    assert "unreadable" in rows[broken.name]["problem"]
    table = run_creative("runs", "list", "--runs-dir", "runs", cwd=tmp_path)
    assert table.returncode == 0 and run_dir.name[:15] in table.stdout

    shown = run_creative("runs", "show", str(future), cwd=tmp_path)
    assert shown.returncode == 0 and json.loads(shown.stdout)["hologram"] is True and "newer" in shown.stderr
    bad = run_creative("runs", "show", str(broken), cwd=tmp_path)
    assert bad.returncode == 1 and "unreadable" in bad.stderr

    schema = json.loads(run_creative("runlog", "schema", cwd=tmp_path).stdout)
    assert schema["title"] == "RunLog" and "variants" in schema["properties"]
    from creative.run.runlog import RunLog

    RunLog.model_validate_json((run_dir / "runlog.json").read_text())


def test_compose_rerenders_after_brief_edit_without_comfy_or_cost(tmp_path, mock_comfy):
    server = mock_comfy()
    result = run_creative(*run_args(server, "runs", "--variants", "2"), cwd=tmp_path)
    run_dir = Path(result.stdout.strip().splitlines()[-1])
    before = {p.name: p.read_bytes() for p in (run_dir / "ads").iterdir()}
    brief = run_dir / "brief.md"
    text = brief.read_text()
    line = next(l for l in text.splitlines() if l.startswith("- **Headline:**"))
    brief.write_text(text.replace(line, "- **Headline:** Edited by hand", 1))
    sent, events = len(server.received_prompts), ledger_events(tmp_path)

    server.stop()  # compose must not need ComfyUI at all
    composed = run_creative("compose", str(run_dir), "-q", cwd=tmp_path)
    assert composed.returncode == 0, composed.stderr
    after = {p.name: p.read_bytes() for p in (run_dir / "ads").iterdir()}
    assert set(after) == set(before) and after != before
    runlog = json.loads((run_dir / "runlog.json").read_text())
    drawn = {box["text"] for v in runlog["variants"] for ad in v["ads"] for box in ad["boxes"] if box["box"] == "headline"}
    assert "Edited by hand" in drawn and runlog["history"][-1]["action"] == "compose"
    assert len(server.received_prompts) == sent and ledger_events(tmp_path) == events


def test_layout_preview_command(tmp_path):
    out = tmp_path / "preview.png"
    result = run_creative("layout", "preview", "--layout", "4x5", "--out", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    from PIL import Image

    assert Image.open(out).size == (1080, 1350)
    missing = run_creative("layout", "preview", "--layout", "3x7", cwd=tmp_path)
    assert missing.returncode == 2 and "3x7" in missing.stderr and "Traceback" not in missing.stderr
