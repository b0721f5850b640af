"""`creative export RUN_DIR --channel X`: re-export a finished run for another channel, no generation."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from channel_helpers import TINY_VIDEO_CHANNEL, templates_with
from cli_helpers import EXAMPLE_PAGE, run_creative

from creative.mock.comfy import MockOptions, MockServer
from creative.core.models import AdSize, Channel
from creative.commands.export import MIN_COVER, check_sizes, cover_fraction

ROOT = Path(__file__).resolve().parents[1]
EXTRA_CHANNELS = TINY_VIDEO_CHANNEL + """
banner_only:
  description: landscape only
  sizes:
    - {width: 1200, height: 628, layout: 191x100, format: jpg}
"""
BG_4X5 = (896, 1152)  # what a meta_static run generates (pipeline.background_size)


def _size(w: int, h: int, layout: str = "x") -> AdSize:
    return AdSize(width=w, height=h, layout=layout)


def test_cover_rule_keeps_at_least_70_percent():
    assert cover_fraction(1000, 1000, 500, 500) == 1.0
    assert cover_fraction(*BG_4X5, 1080, 1080) == pytest.approx(0.7778, abs=1e-3)
    assert cover_fraction(*BG_4X5, 1080, 1920) == pytest.approx(0.7232, abs=1e-3)
    assert cover_fraction(*BG_4X5, 1200, 627) == pytest.approx(0.4064, abs=1e-3)
    assert cover_fraction(1200, 627, *BG_4X5) == cover_fraction(*BG_4X5, 1200, 627)  # symmetric
    channel = Channel(sizes=[_size(1080, 1920), _size(1200, 627), _size(1080, 1080)])
    assert [c.ok for c in check_sizes([BG_4X5], channel)] == [True, False, True]
    # the worst background decides: a square one keeps only 56% at 9:16
    checks = check_sizes([BG_4X5, (1000, 1000)], channel)
    assert [c.ok for c in checks] == [False, False, True] and checks[0].worst == pytest.approx(0.5625)
    assert [c.ok for c in check_sizes([(1000, 1000)], Channel(sizes=[_size(700, 1000), _size(699, 1000)]))] == [True, False]
    assert MIN_COVER == 0.70


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """One meta_static run (2 variants) against the mock; tests copy it."""
    base = tmp_path_factory.mktemp("reexport")
    templates = templates_with(base, EXTRA_CHANNELS)
    with MockServer(MockOptions()) as server:
        result = run_creative("run", "--url", str(EXAMPLE_PAGE), "--channel", "meta_static", "--variants", "2",
                              "--comfy-url", server.url, "--runs-dir", "runs", "-q", cwd=base,
                              env={"CREATIVE_TEMPLATES_DIR": str(templates)})
        posted = len(server.received_prompts)
    assert result.returncode == 0, result.stderr
    return Path(result.stdout.strip().splitlines()[-1]), templates, posted


@pytest.fixture
def run(finished_run, tmp_path):
    """A private copy of the finished run, in its own runs folder (with the budget ledger)."""
    run_dir, templates, _ = finished_run
    shutil.copytree(run_dir.parent, tmp_path / "runs")
    return tmp_path / "runs" / run_dir.name, {"CREATIVE_TEMPLATES_DIR": str(templates)}


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_export_to_a_video_channel_adds_ads_and_videos_without_generating(run, tmp_path):
    run_dir, env = run
    before = _files(run_dir)
    ledger = (run_dir.parent / "budget.jsonl").read_text()
    result = run_creative("export", str(run_dir), "--channel", "tiny_video", "--encoder", "x264", "-q",
                          cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(run_dir)
    after = _files(run_dir)
    for name in before:  # backgrounds, the run's own ads and prompts are untouched
        if name.startswith(("ads/", "backgrounds/")) or name in ("prompts.json", "brief.md"):
            assert after[name] == before[name], name
    assert (run_dir.parent / "budget.jsonl").read_text() == ledger  # no cost, no reservation

    runlog = json.loads((run_dir / "runlog.json").read_text())
    run_id = runlog["run_id"]
    assert runlog["status"] == "ok" and runlog["encoder"]["name"] == "libx264"
    [entry] = runlog["history"]
    assert entry["action"] == "export" and entry["channel"] == "tiny_video"
    assert entry["sizes"] == ["540x960"] and entry["skipped"] == []
    for variant in runlog["variants"]:
        sizes = sorted((a["width"], a["height"]) for a in variant["ads"])
        assert sizes == [(540, 960), (1080, 1080), (1080, 1350)]
        new = [a for a in variant["ads"] if a["width"] == 540]
        assert new[0]["path"].startswith(f"ads/{run_id}-tiny-video_v{variant['variant']:02d}_")
        assert new[0]["qc"]["size_ok"] and (run_dir / new[0]["path"]).is_file()
        [video] = variant["videos"]
        assert video["path"] == f"video/{Path(new[0]['path']).stem}.mp4"
        probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                                "stream=width,height,codec_name", "-of", "csv=p=0", str(run_dir / video["path"])],
                               capture_output=True, text=True, check=True).stdout.strip()
        assert probe == "h264,540,960"
    page = (run_dir / "index.html").read_text()
    assert page.count("<img ") == 6 and page.count("<video ") == 2


def test_sizes_the_backgrounds_cannot_serve_are_named_and_the_rest_exported(run, tmp_path):
    run_dir, env = run
    result = run_creative("export", str(run_dir), "--channel", "linkedin_static", "-q", cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert "1200x627 (keeps 41%)" in result.stderr and "need new backgrounds" in result.stderr
    assert "--channel linkedin_static" in result.stderr  # how to get them
    assert "1200x1200" not in result.stderr.split("need new backgrounds")[1]
    names = [p.name for p in (run_dir / "ads").iterdir()]
    assert sum(n.endswith("_1200x1200.jpg") for n in names) == 2
    assert not [n for n in names if "1200x627" in n]
    runlog = json.loads((run_dir / "runlog.json").read_text())
    assert runlog["status"] == "ok"  # the run itself is fine
    assert runlog["history"][-1]["skipped"] == ["1200x627"] and runlog["history"][-1]["sizes"] == ["1200x1200"]
    assert runlog["encoder"] is None and not (run_dir / "video").exists()


def test_nothing_is_written_when_no_size_can_be_served(run, tmp_path):
    run_dir, env = run
    before = _files(run_dir)
    result = run_creative("export", str(run_dir), "--channel", "banner_only", "-q", cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert "no size can be cut" in result.stderr and "1200x628 (keeps 41%)" in result.stderr
    assert _files(run_dir) == before


@pytest.mark.parametrize("channel, message", [("meta_static", "already a meta_static run"),
                                              ("nope", "unknown channel 'nope'")])
def test_same_or_unknown_channel_is_refused(run, tmp_path, channel, message):
    run_dir, env = run
    before = _files(run_dir)
    result = run_creative("export", str(run_dir), "--channel", channel, "-q", cwd=tmp_path, env=env)
    assert result.returncode == 2 and message in result.stderr
    assert _files(run_dir) == before
