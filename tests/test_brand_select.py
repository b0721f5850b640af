"""Several brands side by side: which one a command uses, and what a run says about it."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from creative.brand.select import (
    SAMPLE_DIR,
    brand_mismatch,
    resolve_brand,
    run_folder_name,
    sample_brand_hint,
    use_brand,
)
from creative.cli import app
from creative.core.config import load_settings
from creative.core.errors import ConfigError
from creative.core.models import Brief, Concept, PromptSet, VariantPrompt
from creative.render.report import gallery_html
from creative.run.brands import brand_of_run, sample_used_before
from creative.run.folder import RunFolder, RunsRoot
from creative.run.runlog import RunLog


def _make_brand(folder: Path, name: str, logo_rgb: tuple[int, int, int] | None = None) -> Path:
    shutil.copytree(SAMPLE_DIR, folder, ignore=shutil.ignore_patterns("make_logo.py"))
    text = (folder / "brand.yaml").read_text(encoding="utf-8").replace("name: Lumen Skin", f"name: {name}")
    (folder / "brand.yaml").write_text(text, encoding="utf-8")
    if logo_rgb:
        Image.new("RGBA", (200, 200), (*logo_rgb, 255)).save(folder / "logo.png")
    return folder


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for var in ("CREATIVE_BRAND", "CREATIVE_BRANDS_DIR", "CREATIVE_BRAND_DIR"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def _settings(**overrides):
    return load_settings(None, env={}, overrides=overrides)


def test_no_brand_of_ones_own_is_the_sample_and_says_so(workdir):
    choice = resolve_brand(_settings())
    assert choice.sample and choice.folder == SAMPLE_DIR.resolve() and choice.name == "Lumen Skin"
    assert "no brand of your own" in choice.reason


def test_the_only_brand_is_used_several_need_a_choice(workdir):
    _make_brand(workdir / "brands" / "northbean", "Northbean Roasters")
    only = resolve_brand(_settings())
    assert (only.name, only.sample) == ("Northbean Roasters", False)
    _make_brand(workdir / "brands" / "tra", "Nhà Trà Mộc")
    with pytest.raises(ConfigError) as err:
        resolve_brand(_settings())
    assert "northbean, tra" in err.value.message and "--brand NAME" in err.value.user_message()


def test_brand_by_folder_or_by_name_in_brand_yaml_or_settings_file(workdir):
    _make_brand(workdir / "brands" / "northbean", "Northbean Roasters")
    _make_brand(workdir / "brands" / "tra", "Nhà Trà Mộc")
    assert resolve_brand(_settings(brand="tra")).name == "Nhà Trà Mộc"
    assert resolve_brand(_settings(brand="nha tra moc")).folder == (workdir / "brands" / "tra").resolve()
    assert resolve_brand(_settings(brand="Northbean Roasters")).folder.name == "northbean"
    assert resolve_brand(_settings(brand="lumen-skin")).sample  # the sample can be chosen by name
    (workdir / "creative.yaml").write_text("brand: northbean\n", encoding="utf-8")
    assert resolve_brand(load_settings(None, env={})).name == "Northbean Roasters"
    with pytest.raises(ConfigError) as err:
        resolve_brand(_settings(brand="kettle"))
    assert "no brand named 'kettle'" in err.value.message and "northbean, tra" in err.value.message
    assert "creative brand init" in err.value.user_message()


def test_single_brand_folder_and_explicit_brand_dir_still_work(workdir):
    _make_brand(workdir / "brand", "Old Shop")
    assert resolve_brand(_settings()).name == "Old Shop"
    other = _make_brand(workdir / "elsewhere", "Elsewhere Ltd")
    assert resolve_brand(_settings(**{"paths.brand_dir": str(other)})).name == "Elsewhere Ltd"


def test_cli_brand_flag_picks_the_brand_a_command_draws_with(workdir):
    _make_brand(workdir / "brands" / "blue", "Blue Co", logo_rgb=(0, 0, 255))
    _make_brand(workdir / "brands" / "red", "Red Co", logo_rgb=(255, 0, 0))
    runner = CliRunner()
    for name, rgb in (("blue", (0, 0, 255)), ("red", (255, 0, 0))):
        result = runner.invoke(app, ["layout", "preview", "--layout", "4x5", "--brand", name,
                                     "--out", f"{name}.png"])
        assert result.exit_code == 0, result.output
        with Image.open(workdir / f"{name}.png") as im:
            assert im.convert("RGB").getpixel((119, 121)) == rgb  # the middle of the logo box
    unchosen = runner.invoke(app, ["layout", "preview", "--layout", "4x5", "--out", "x.png"])
    assert unchosen.exit_code == 2 and "several brands" in unchosen.stderr
    listed = runner.invoke(app, ["brand", "list"])
    assert listed.exit_code == 0
    assert "  blue" in listed.stdout and "Lumen Skin (bundled sample)" in listed.stdout
    assert "several brands found" in listed.stderr


def test_brand_mismatch():
    assert brand_mismatch("Northbean", None, "Northbean Roasters") is None
    assert brand_mismatch("The Lumen Skin Co.", None, "Lumen Skin") is None
    assert brand_mismatch("Nha Tra Moc", None, "Nhà Trà Mộc") is None
    assert brand_mismatch(None, None, "Lumen Skin") is None  # nothing researched: no claim
    assert brand_mismatch(None, "Lumen Skin", "Lumen Skin") is None
    text = brand_mismatch("Northbean Roasters", None, "Lumen Skin")
    assert "'Northbean Roasters'" in text and "'Lumen Skin'" in text and "creative brand init" in text
    assert "'Nhà Trà Mộc'" in brand_mismatch(None, "Nhà Trà Mộc", "Lumen Skin")


def test_sample_hint_on_the_first_sample_run_only(workdir):
    runs = RunsRoot(workdir / "runs")
    sample = resolve_brand(_settings())
    first = sample_brand_hint(sample, sample_used_before(runs))
    assert "bundled sample brand 'Lumen Skin'" in first and "creative brand init --url" in first
    current = runs.path / "20260101-000000-lumen-skin-serum-meta-static"
    current.mkdir(parents=True)
    RunFolder(current).write_runlog(RunLog(run_id=current.name, brand=sample.record()))
    assert not sample_used_before(runs, RunFolder(current))  # the run asking is not "earlier"
    assert sample_brand_hint(sample, sample_used_before(runs)) is None
    _make_brand(workdir / "brands" / "northbean", "Northbean Roasters")
    own = resolve_brand(_settings())
    assert sample_brand_hint(own, False) is None
    assert "'Lumen Skin'" in brand_mismatch("Lumen Skin", None, own.name)  # the page is not this brand's


def test_sample_hint_reads_no_runlogs_for_ones_own_brand(workdir, monkeypatch):
    from creative.run import brands

    runs = RunsRoot(workdir / "runs")
    assert "bundled sample brand" in brands.sample_hint(resolve_brand(_settings()), runs)

    def scan(*_args):
        raise AssertionError("earlier runlogs were read for a run on its own brand")

    monkeypatch.setattr(brands, "sample_used_before", scan)
    _make_brand(workdir / "brands" / "northbean", "Northbean Roasters")
    assert brands.sample_hint(resolve_brand(_settings()), runs) is None


def test_run_folder_named_after_product_and_brand():
    now = datetime(2026, 12, 2, 9, 30, 0).timestamp()
    assert run_folder_name(now, "Northbean Roasters", "meta_static",
                           url="https://northbean.example/products/burr-grinder-pro?ref=x") == \
        "20261202-093000-northbean-roasters-burr-grinder-pro-meta-static"
    assert run_folder_name(now, "Nhà Trà Mộc", "tiktok", url="pages/tra-xanh.html") == \
        "20261202-093000-nha-tra-moc-tra-xanh-tiktok"
    assert run_folder_name(now, "Lumen Skin", "meta_static", url="https://x.example/",
                           product="Midnight Repair Cream") == \
        "20261202-093000-lumen-skin-midnight-repair-cream-meta-static"


def test_runlog_and_gallery_carry_the_brand_warning(tmp_path):
    warning = brand_mismatch("Northbean Roasters", None, "Lumen Skin")
    log = RunLog(run_id="r1", brand={"name": "Lumen Skin", "sample": True}, warnings=[warning])
    RunFolder(tmp_path).write_runlog(log)
    assert RunFolder(tmp_path).read_runlog().warnings == [warning]
    concepts = [Concept(name=n, headline="H", cta="Go", scene="s") for n in ("a", "b")]
    brief = Brief(brand="Lumen Skin", channel="meta_static", concepts=concepts)
    prompts = PromptSet(variants=[VariantPrompt(variant=1, concept="a", positive="p", negative="n", seed=1)])
    page = gallery_html(run_id="r1", brief=brief, prompts=prompts, ads=[], totals={}, warnings=[warning + " <b>"])
    assert '<div class="notice">⚠ this page is from &#x27;Northbean Roasters&#x27;' in page
    assert "&lt;b&gt;" in page
    assert 'class="notice"' not in gallery_html(run_id="r1", brief=brief, prompts=prompts, ads=[], totals={})


def test_cli_run_notes_the_sample_brand_on_the_first_run_only(workdir):
    runner = CliRunner()
    args = ["run", "--url", str(SAMPLE_DIR.parent / "examples" / "serum.html"), "--channel", "meta_static",
            "--dry-run"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "note: this run uses the bundled sample brand 'Lumen Skin'" in first.stderr
    earlier = workdir / "runs" / "20260101-000000-lumen-skin-serum-meta-static"
    earlier.mkdir(parents=True)
    RunFolder(earlier).write_runlog(RunLog(run_id=earlier.name, brand=resolve_brand(_settings()).record()))
    later = runner.invoke(app, args)
    assert later.exit_code == 0 and "bundled sample brand" not in later.stderr
    _make_brand(workdir / "brands" / "own", "Own Brand")
    earlier.joinpath("runlog.json").unlink()
    own = runner.invoke(app, args)
    assert own.exit_code == 0 and "bundled sample brand" not in own.stderr


def test_commands_on_a_run_use_the_brand_it_was_made_with(workdir):
    red = _make_brand(workdir / "brands" / "red", "Red Co")
    _make_brand(workdir / "brands" / "blue", "Blue Co")
    run = workdir / "runs" / "r1"
    run.mkdir(parents=True)
    RunFolder(run).write_runlog(RunLog(run_id="r1", brand=resolve_brand(_settings(brand="red")).record()))
    settings = _settings()
    choice = use_brand(settings, None, brand_of_run(RunFolder(run)))
    assert choice.name == "Red Co" and settings.brand_dir == red.resolve() and "r1 was made with" in choice.reason
    assert use_brand(_settings(), "blue", brand_of_run(RunFolder(run))).name == "Blue Co"  # --brand names another
    shutil.rmtree(red)
    fallback = use_brand(_settings(), None, brand_of_run(RunFolder(run)))  # its brand is gone: usual resolution
    assert fallback.name == "Blue Co" and fallback.reason.startswith("the only brand in")
