"""The export stage: typography overlay, one MP4 per variant and size, runlog records, failures."""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest
from channel_helpers import templates_with
from cli_helpers import EXAMPLE_PAGE, run_creative
from PIL import Image, ImageChops, ImageDraw, ImageStat

from creative.brand.kit import load_brand, load_layout
from creative.core.config import Settings, load_settings
from creative.render.encoders import subprocess_runner
from creative.core.errors import ConfigError, ExportError
from creative.render.files import ad_filename
from creative.core.models import (
    AdSize,
    Brief,
    Channel,
    Concept,
    PromptSet,
    SafeZone,
    VariantPrompt,
    VideoSettings,
)
from creative.core.progress import Reporter
from creative.run.runlog import RunLog, VariantRecord, sha256_file
from creative.render.typography import cover, render_ad, render_overlay
from creative.run.context import RunContext, ledger_for, load_run_workflow
from creative.run.folder import RunFolder
from creative.run.outcome import finish as finish_run
from creative.run.outcome import guarded
from creative.stages import export
from creative.stages.export import overlay_path

ROOT = Path(__file__).resolve().parents[1]
BRAND = ROOT / "brand"
ZONE = SafeZone(top=0.12, bottom=0.25, left=0.06, right=0.12)
# Small sizes keep encodes around a second; the layouts still fit this copy at these sizes.
SMALL = Channel(sizes=[AdSize(width=540, height=960, layout="9x16"), AdSize(width=600, height=600, layout="1x1")],
                safe_zone=SafeZone(), video=VideoSettings(duration_s=1, fps=10))
CONCEPTS = [Concept(name="Glow", headline="Glow all day", subhead="Soft light serum", cta="Shop now", scene="s"),
            Concept(name="Calm", headline="Calm skin", subhead="Made gently", cta="Try it", scene="s")]


def busy_background(seed: int, size=(768, 1344), block: int = 24) -> Image.Image:
    """Bright, noisy blocks: forces the engine to pick scrims, so the overlay must carry them."""
    rng = random.Random(seed)
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    for y in range(0, size[1], block):
        for x in range(0, size[0], block):
            draw.rectangle((x, y, x + block - 1, y + block - 1), fill=tuple(rng.randrange(256) for _ in range(3)))
    return image


def run_background(variant: int) -> Image.Image:
    # Coarser blocks than the overlay test: still needs scrims, but is cheap for x264 to encode.
    return busy_background(variant, block=192)


def make_run(tmp_path: Path, variants=(1, 2)) -> tuple[RunContext, Brief, PromptSet]:
    run_dir = tmp_path / "runs" / "R1"
    (run_dir / "backgrounds").mkdir(parents=True)
    prompts = PromptSet(variants=[VariantPrompt(variant=v, concept=CONCEPTS[(v - 1) % 2].name, positive=f"scene {v}",
                                                negative="text", seed=10 + v) for v in variants])
    records = []
    for p in prompts.variants:
        run_background(p.variant).save(run_dir / "backgrounds" / f"v{p.variant:02d}.png")
        records.append(VariantRecord(variant=p.variant, concept=p.concept, positive=p.positive, negative=p.negative,
                                     seed=p.seed, width=768, height=1344, status="ok",
                                     background=f"backgrounds/v{p.variant:02d}.png", cost_actual_usd=0.04))
    settings = settings_for(tmp_path)
    brief = Brief(brand="Lumen", channel="tiny", concepts=CONCEPTS)
    ctx = RunContext(folder=RunFolder(run_dir), runlog=RunLog(run_id="R1", variants=records), settings=settings,
                     reporter=Reporter(), brand=load_brand(BRAND), channel_name="tiny", channel=SMALL,
                     workflow=load_run_workflow(settings), ledger=ledger_for(settings), brief=brief, prompts=prompts)
    return ctx, brief, prompts


def export_stage(ctx: RunContext, brief: Brief, prompts: PromptSet, channel: Channel, settings: Settings, **kw):
    """The export stage of `ctx` with this channel and these settings."""
    ctx.brief, ctx.prompts, ctx.channel, ctx.settings = brief, prompts, channel, settings
    return export.run(ctx, **kw)


def settings_for(tmp_path: Path, **extra) -> Settings:
    return Settings.model_validate({"encoder": "x264", "paths": {"runs_dir": str(tmp_path / "runs"),
                                                                  "brand_dir": str(BRAND)}, **extra})


def ffprobe(path: Path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def first_frame(path: Path) -> Image.Image:
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-frames:v", "1", "-f", "image2pipe",
                          "-vcodec", "png", "-"], capture_output=True, check=True).stdout
    return Image.open(io.BytesIO(raw)).convert("RGB")


# --- overlay ------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [AdSize(width=540, height=960, layout="9x16"),
                                  AdSize(width=1080, height=1350, layout="4x5")])
def test_overlay_on_cover_cropped_background_reproduces_render_ad(size):
    brand = load_brand(BRAND)
    layout = load_layout(BRAND, size.layout, brand)
    background = busy_background(3)
    zone = ZONE if size.layout == "9x16" else SafeZone()
    ad = render_ad(background, CONCEPTS[0], brand, BRAND, layout, size, zone)
    layer = render_overlay(background, CONCEPTS[0], brand, BRAND, layout, size, zone)

    assert layer.image.mode == "RGBA" and layer.image.size == (size.width, size.height)
    assert [b.model_dump() for b in layer.boxes] == [b.model_dump() for b in ad.boxes]
    alpha = layer.image.getchannel("A")
    transparent = alpha.histogram()[0] / (size.width * size.height)
    assert 0.3 < transparent < 0.98  # text and scrims only; the background is not in the layer
    assert alpha.getextrema()[1] == 255  # solid glyphs / button

    composite = Image.alpha_composite(cover(background, size.width, size.height).convert("RGBA"), layer.image)
    diff = ImageChops.difference(composite.convert("RGB"), ad.image)
    # Two 8-bit blends (scrim, then text) round a little differently from blending in one layer.
    assert max(hi for _, hi in diff.getextrema()) <= 3
    assert max(ImageStat.Stat(diff).mean) < 0.05


# --- the stage ----------------------------------------------------------------------------------


def test_export_stage_writes_one_mp4_per_variant_and_size(tmp_path):
    ctx, brief, prompts = make_run(tmp_path)
    records = export_stage(ctx, brief, prompts, SMALL, settings_for(tmp_path))

    video_dir = ctx.folder.path / "video"
    names = {ad_filename("R1", v, CONCEPTS[(v - 1) % 2].name, s.width, s.height, "mp4") for v in (1, 2) for s in SMALL.sizes}
    assert {p.name for p in video_dir.iterdir() if not p.name.startswith(".")} == names
    assert ctx.runlog.encoder == {"name": "libx264", "reason": "libx264 requested"}
    [stage] = ctx.runlog.stages
    assert stage.name == "export" and stage.outcome == "ok"
    assert len(records) == 4
    for variant in ctx.runlog.variants:
        assert variant.status == "ok" and len(variant.videos) == 2
        for video in variant.videos:
            path = ctx.folder.path / video.path
            assert video.bytes == path.stat().st_size and video.sha256 == sha256_file(path)
            assert video.encoder == "libx264" and video.seconds > 0
            info = ffprobe(path)
            [v] = [s for s in info["streams"] if s["codec_type"] == "video"]
            assert (v["codec_name"], v["width"], v["height"], v["pix_fmt"]) == ("h264", video.width, video.height, "yuv420p")
            assert abs(float(info["format"]["duration"]) - 1.0) < 1 / 10 + 0.03
            with Image.open(overlay_path(path)) as overlay:
                assert overlay.mode == "RGBA" and overlay.size == (video.width, video.height)
    # The first frame (no zoom yet) is the still ad: the text layer sits exactly where render_ad drew it.
    brand = load_brand(BRAND)
    size = SMALL.sizes[0]
    still = render_ad(run_background(1), CONCEPTS[0], brand, BRAND, load_layout(BRAND, "9x16", brand), size, SMALL.safe_zone)
    frame = first_frame(ctx.folder.path / ctx.runlog.variant(1).videos[0].path)
    headline = next(b for b in still.boxes if b.box == "headline").bounds
    error = ImageStat.Stat(ImageChops.difference(frame.crop(headline), still.image.crop(headline)).convert("L")).mean[0]
    assert error < 12, error  # chroma subsampling softens edges; a misplaced or missing layer is far off
    assert json.loads(ctx.folder.path.joinpath("runlog.json").read_text())["encoder"]["name"] == "libx264"


def test_failed_encode_fails_only_its_variant_and_the_run_exits_4(tmp_path):
    ctx, brief, prompts = make_run(tmp_path)

    def runner(args: Sequence[str]) -> subprocess.CompletedProcess[str]:
        if any("_v02_" in a for a in args):
            return subprocess.CompletedProcess(list(args), 1, "", "Error while filtering: Cannot allocate memory\n")
        return subprocess_runner(args)

    export_stage(ctx, brief, prompts, SMALL, settings_for(tmp_path), runner=runner)
    v1, v2 = ctx.runlog.variants
    assert v1.status == "ok" and len(v1.videos) == 2
    assert v2.status == "failed" and v2.videos == []
    assert "video 540x960: ffmpeg failed (libx264): Error while filtering: Cannot allocate memory" in v2.error
    result = finish_run(ctx)
    assert result.exit_code == 4 and "v02" in result.message and "v01" not in result.message
    assert not list((ctx.folder.path / "video").glob("*_v02_*.mp4"))


def test_missing_ffmpeg_is_an_export_error_naming_what_was_written(tmp_path):
    ctx, brief, prompts = make_run(tmp_path)
    for background in (ctx.folder.path / "backgrounds").iterdir():  # written long before this command
        os.utime(background, (1_000_000, 1_000_000))
    settings = settings_for(tmp_path, ffmpeg=str(tmp_path / "no-such-ffmpeg"))
    with pytest.raises(ExportError) as caught:
        with guarded(ctx):
            export_stage(ctx, brief, prompts, SMALL, settings)
    exc = caught.value
    assert "ffmpeg not found" in exc.message and "no-such-ffmpeg" in exc.message
    assert "runlog.json" in exc.written and not any(name.startswith("backgrounds/") for name in exc.written)
    assert f"Already written in {ctx.folder.path}: " in exc.user_message()
    runlog = ctx.folder.read_runlog()
    assert runlog.status == "failed" and runlog.stages[-1].name == "export" and runlog.stages[-1].outcome == "failed"
    assert not (ctx.folder.path / "video").exists() or not list((ctx.folder.path / "video").glob("*.mp4"))


def test_channels_without_video_export_nothing(tmp_path):
    ctx, brief, prompts = make_run(tmp_path)
    static = SMALL.model_copy(update={"video": None})
    assert export_stage(ctx, brief, prompts, static, settings_for(tmp_path)) == []
    assert ctx.runlog.stages == [] and ctx.runlog.encoder is None and not (ctx.folder.path / "video").exists()


def test_encoder_setting_from_env_and_validated():
    assert load_settings(env={}).encoder == "auto"
    assert load_settings(env={"CREATIVE_ENCODER": "x264"}).encoder == "x264"
    assert load_settings(env={"CREATIVE_ENCODER": "x264"}, overrides={"encoder": "nvenc"}).encoder == "nvenc"
    with pytest.raises(ConfigError, match="encoder") as caught:
        load_settings(env={"CREATIVE_ENCODER": "h265"})
    assert caught.value.exit_code == 2


# --- end to end ---------------------------------------------------------------------------------



def test_cli_run_with_a_video_channel_exports_one_mp4_per_variant(tmp_path, mock_comfy):
    server = mock_comfy()
    env = {"CREATIVE_TEMPLATES_DIR": str(templates_with(tmp_path))}
    result = run_creative("run", "--url", str(EXAMPLE_PAGE), "--channel", "tiny_video", "--variants", "2",
                          "--encoder", "x264", "--comfy-url", server.url, "--runs-dir", "runs", "-q",
                          cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    run_dir = Path(result.stdout.strip().splitlines()[-1])
    runlog = json.loads((run_dir / "runlog.json").read_text())
    assert [s["name"] for s in runlog["stages"]] == ["research", "brief", "prompts", "budget", "generate", "compose",
                                                      "export", "report"]
    assert runlog["encoder"] == {"name": "libx264", "reason": "libx264 requested"}
    assert runlog["totals"]["videos"] == 2
    for variant in runlog["variants"]:
        [video] = variant["videos"]
        [ad] = variant["ads"]
        assert Path(video["path"]).stem == Path(ad["path"]).stem  # same name as the still, .mp4
        assert ffprobe(run_dir / video["path"])["streams"][0]["width"] == 540
    page = (run_dir / "index.html").read_text()
    assert page.count("<video ") == 2 and "libx264 requested" in page


def test_cli_rejects_an_unknown_encoder(tmp_path):
    result = run_creative("run", "--url", str(EXAMPLE_PAGE), "--channel", "tiktok", "--encoder", "h265", cwd=tmp_path)
    assert result.returncode == 2 and "encoder" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("CREATIVE_SLOW_TESTS"), reason="full-size video encodes: make test-slow")
def test_cli_run_meta_reels_full_size(tmp_path, mock_comfy):
    server = mock_comfy()
    result = run_creative("run", "--url", str(EXAMPLE_PAGE), "--channel", "meta_reels", "--variants", "2",
                          "--comfy-url", server.url, "--runs-dir", "runs", "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    run_dir = Path(result.stdout.strip().splitlines()[-1])
    runlog = json.loads((run_dir / "runlog.json").read_text())
    assert runlog["encoder"]["name"] in ("libx264", "h264_nvenc") and runlog["encoder"]["reason"]
    for variant in runlog["variants"]:
        [video] = variant["videos"]
        info = ffprobe(run_dir / video["path"])
        [v] = [s for s in info["streams"] if s["codec_type"] == "video"]
        assert (v["width"], v["height"], v["r_frame_rate"]) == (1080, 1920, "30/1")
        assert abs(float(info["format"]["duration"]) - 6.0) < 0.05
