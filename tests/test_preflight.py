"""Checks before money: copy the layouts or fonts cannot take, and scenes that ask for writing."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_inprocess import Outcome, assert_one_clear_line
from creative.brand.kit import load_brand, load_channels
from creative.cli import error_line
from creative.copy.brief import draft_brief
from creative.copy.preflight import check_scenes, preflight, scene_asks_for_text
from creative.core.errors import EXIT_BAD_INPUT, InputError
from creative.core.models import Brief, Concept
from creative.research import research

ROOT = Path(__file__).resolve().parents[1]
BRAND_DIR = ROOT / "brand"
BRAND = load_brand(BRAND_DIR)
CHANNELS = load_channels(ROOT / "templates" / "channels.yaml")


def refused(brief: Brief, channel: str = "meta_static") -> Outcome:
    """The one line and exit code the CLI would give for this brief's preflight refusal."""
    with pytest.raises(InputError) as err:
        preflight(brief, BRAND, BRAND_DIR, CHANNELS[channel])
    return Outcome(err.value.exit_code, "", error_line(err.value))


def brief(headline: str = "Soft skin by morning", subhead: str = "Ceramides repair overnight",
          cta: str = "Shop now", scene: str = "a wet travertine slab in morning light") -> Brief:
    concepts = [Concept(name="a", headline=headline, subhead=subhead, cta=cta, scene=scene),
                Concept(name="b", headline="Glow daily", cta="Shop now", scene="a sunlit bathroom shelf")]
    return Brief(brand="Lumen Skin", channel="meta_static", concepts=concepts)


@pytest.mark.parametrize("channel", sorted(CHANNELS))
def test_a_drafted_brief_passes_on_every_channel(channel):
    notes = research(str(ROOT / "examples" / "serum.html"))
    drafted = draft_brief(notes, brand="Lumen Skin", channel_name=channel, channel=CHANNELS[channel], offer="Buy 2 get 1")
    preflight(drafted, BRAND, BRAND_DIR, CHANNELS[channel])


@pytest.mark.parametrize("scene, asked", [
    ("a shop window with a sign saying SALE 50% OFF", "sign"),
    ('a marble slab with the words "Glow Daily" in gold', '"Glow Daily"'),
    ("a neon signboard over a counter", "signboard"),
    ("a bottle with a label and the brand logo", "label"),
    ("a poster on the wall behind the serum", "poster"),
    ("a chalkboard that reads 'fresh'", "'fresh'"),
])
def test_scene_that_asks_for_writing_is_refused(scene, asked):
    assert scene_asks_for_text(scene) == asked
    outcome = refused(brief(scene=scene))
    assert_one_clear_line(outcome, EXIT_BAD_INPUT, "Scene refused: concept 'a'", repr(asked))


@pytest.mark.parametrize("scene", [
    "a wet travertine slab, no text, no logos",
    "logo-free glass bottle on textured linen",
    "an unlabeled dropper bottle, signature warm light, without any lettering",
    "a sunlit bathroom shelf beside folded linen towels",
])
def test_scene_that_rules_writing_out_passes(scene):
    assert scene_asks_for_text(scene) is None
    check_scenes(brief(scene=scene))


def test_headline_over_the_channel_limit():
    outcome = refused(brief(headline="Overnight repair for visibly softer, calmer skin"))
    assert_one_clear_line(outcome, EXIT_BAD_INPUT, "concept 'a' Headline is 48 characters",
                          "over the channel's limit of 40")


def test_ten_megabyte_subhead_is_refused_without_fitting_it():
    outcome = refused(brief(subhead="glow " * 2_000_000))
    assert_one_clear_line(outcome, EXIT_BAD_INPUT, "concept 'a' subhead at 1080x1350 (4x5 layout)",
                          "9999999 characters can never fit its box")


def test_subhead_over_its_line_limit():
    outcome = refused(brief(subhead="Ceramides and peptides repair the skin barrier while you sleep, so you "
                                 "wake up to calmer skin every single morning"))
    assert_one_clear_line(outcome, EXIT_BAD_INPUT, "concept 'a' subhead at 1080x1350",
                          "does not fit its box", "2 lines")


def test_cta_too_long_for_its_button():
    outcome = refused(brief(cta="Shop the whole overnight repair range today"))
    assert_one_clear_line(outcome, EXIT_BAD_INPUT, "concept 'a' cta at 1080x1350", "does not fit its box")


def test_character_no_font_has():
    outcome = refused(brief(headline="Glow \U00013080 daily"))
    assert_one_clear_line(outcome, EXIT_BAD_INPUT, "concept 'a' headline",
                          "no brand or fallback font has the characters", "U+13080")


def test_brief_command_keeps_a_draft_a_run_would_refuse_and_says_why(tmp_path, monkeypatch):
    """`creative brief` only drafts: copy with glyphs no brand font has is kept to edit, with a warning;
    `creative run` on the same page stops before anything is paid."""
    from typer.testing import CliRunner

    from creative.cli import app

    page = tmp_path / "tea.html"
    page.write_text('<html lang="zh-TW"><head><title>西莎小羊肉餐盒</title></head><body><h1>西莎小羊肉餐盒</h1>'
                    '<p>新鮮羊肉，慢火燉煮，全家都愛的好味道。</p><ul><li>台灣在地食材</li><li>冷凍宅配到府</li></ul>'
                    '</body></html>', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    args = ["--url", str(page), "--channel", "meta_static", "--runs-dir", str(tmp_path / "runs")]
    drafted = CliRunner().invoke(app, ["brief", *args])
    assert drafted.exit_code == 0, drafted.output
    assert "a run would refuse this brief as it is" in drafted.stderr and "fallback_fonts" in drafted.stderr
    brief_md = drafted.stdout.strip().splitlines()[-1]
    assert "西莎小羊肉餐盒" in open(brief_md, encoding="utf-8").read()
    refused = CliRunner().invoke(app, ["run", *args, "--comfy-url", "http://127.0.0.1:9"])
    assert refused.exit_code == 2 and "no brand or fallback font has the characters" in refused.stderr
    ledger = tmp_path / "runs" / "budget.jsonl"
    assert not ledger.exists() or "reserve" not in ledger.read_text()  # nothing was reserved
