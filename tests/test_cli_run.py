"""`creative run` against the mock ComfyUI on a free port (in-process), and the real process once."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from PIL import Image

from cli_helpers import EXAMPLE_PAGE, run_creative, run_creative_process


def test_smoke_run_writes_complete_run_folder(tmp_path, mock_comfy):
    server = mock_comfy(latency=0.05)
    result = run_creative(
        "run", "--url", str(EXAMPLE_PAGE), "--channel", "meta_static", "--offer", "Buy 2 get 1",
        "--comfy-url", server.url, "--runs-dir", str(tmp_path / "runs"), cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    run_dir = Path(result.stdout.strip().splitlines()[-1])
    assert run_dir.parent == tmp_path / "runs"
    assert re.fullmatch(r"\d{8}-\d{6}-lumen-skin-serum-meta-static", run_dir.name)
    assert "Traceback" not in result.stderr

    for name in ("research.json", "research.md", "brief.md", "prompts.json", "runlog.json", "contact_sheet.png", "index.html"):
        assert (run_dir / name).is_file(), name

    front = yaml.safe_load((run_dir / "brief.md").read_text().split("---")[1])
    assert {"brand", "channel", "format", "offer", "must_have", "avoid"} <= set(front)
    assert front["offer"] == "Buy 2 get 1" and front["channel"] == "meta_static"

    prompts = json.loads((run_dir / "prompts.json").read_text())["variants"]
    assert len(prompts) == 6
    assert len({p["concept"] for p in prompts}) >= 2
    assert all("text" in p["negative"] and isinstance(p["seed"], int) for p in prompts)

    backgrounds = sorted(p.name for p in (run_dir / "backgrounds").glob("*.png"))
    assert backgrounds == [f"v{i:02d}.png" for i in range(1, 7)]

    sizes = sorted(Image.open(p).size for p in (run_dir / "ads").iterdir())
    assert sizes == [(1080, 1080)] * 6 + [(1080, 1350)] * 6

    runlog = json.loads((run_dir / "runlog.json").read_text())
    assert runlog["status"] == "ok" and runlog["exit_code"] == 0
    assert [v["variant"] for v in runlog["variants"]] == [1, 2, 3, 4, 5, 6]
    posted_ids = {body["prompt_id"] for body in server.received_prompts}
    for variant, prompt in zip(runlog["variants"], prompts):
        assert variant["seed"] == prompt["seed"]
        assert len(variant["prompt_ids"]) == 1 and variant["prompt_ids"][0] in posted_ids
        assert len(variant["ads"]) == 2
    assert len(server.received_prompts) == 6
    # Research images are reference only: neither they nor their URLs reach ComfyUI.
    images = json.loads((run_dir / "research.json").read_text())["image_urls"]
    assert images
    for body in server.received_prompts:
        sent = json.dumps(body)
        assert not any(url in sent or url.rsplit("/", 1)[-1] in sent for url in images)
        assert all(node["class_type"] != "LoadImage" for node in body["prompt"].values())
    # Every stage recorded, in order.
    assert [s["name"] for s in runlog["stages"]] == ["research", "brief", "prompts", "budget", "generate", "compose", "report"]


def test_budget_guard_refuses_before_anything_is_sent(tmp_path, mock_comfy):
    server = mock_comfy()
    (tmp_path / "creative.yaml").write_text("budget:\n  monthly_cap_usd: 0.10\n  cost_per_image_usd: 0.04\n")
    result = run_creative(
        "run", "--url", str(EXAMPLE_PAGE), "--channel", "meta_static", "--comfy-url", server.url,
        "--runs-dir", str(tmp_path / "runs"), cwd=tmp_path,
    )
    assert result.returncode == 3, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert "spent $0.00" in line and "cap $0.10" in line and "estimate $0.24" in line
    assert server.received_prompts == []
    assert not (tmp_path / "runs" / "budget.jsonl").exists() or "reserve" not in (tmp_path / "runs" / "budget.jsonl").read_text()


def test_budget_counts_previous_runs(tmp_path, mock_comfy):
    server = mock_comfy()
    (tmp_path / "creative.yaml").write_text("budget:\n  monthly_cap_usd: 0.10\n  cost_per_image_usd: 0.04\n")
    args = ("run", "--url", str(EXAMPLE_PAGE), "--channel", "meta_static", "--variants", "2", "--comfy-url", server.url,
            "--runs-dir", "runs", "-q")
    first = run_creative(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    second = run_creative(*args, cwd=tmp_path)
    assert second.returncode == 3
    assert "spent $0.08" in second.stderr
    assert len(server.received_prompts) == 2
    events = [json.loads(l) for l in (tmp_path / "runs" / "budget.jsonl").read_text().splitlines()]
    assert [e["event"] for e in events] == ["reserve", "settle"]
    assert events[1]["amount_usd"] == 0.08
    table = run_creative("budget", "--runs-dir", "runs", cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    for needle in ("cap", "$0.10", "settled", "$0.08", "remaining", "$0.02", events[0]["run_id"]):
        assert needle in table.stdout, needle


def test_python_dash_m_help_and_an_error_through_the_real_process(tmp_path):
    # End to end: the entry's fast exit keeps the exit code and both streams apart.
    result = run_creative_process("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("run", "mock-comfy", "demo"):
        assert command in result.stdout
    bad = run_creative_process("run", "--url", str(EXAMPLE_PAGE), "--channel", "myspace", cwd=tmp_path)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.startswith("error: unknown channel 'myspace'") and len(bad.stderr.splitlines()) == 1, bad.stderr
