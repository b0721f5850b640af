"""Policy reads like the eye: hidden characters, look-alike letters and mixed scripts do not get a banned word past."""

from __future__ import annotations

import pytest

from cli_inprocess import assert_one_clear_line, invoke
from creative.copy.brief import render_brief
from creative.copy.policy import check_policy, contains_term, mixed_script_word, visible_form
from creative.core.errors import EXIT_BAD_INPUT, InputError
from creative.core.models import Brief, Concept

DISGUISED = {
    "zero-width space": "Mir\u200bacle glow",
    "soft hyphen": "Mira\u00adcle glow",
    "word joiner": "Mira\u2060cle glow",
    "bidi override": "\u202eMiracle\u202c glow",
    "full-width letters": "\uff2d\uff49\uff52\uff41\uff43\uff4c\uff45 glow",
    "Cyrillic i": "M\u0456racle glow",
}


@pytest.mark.parametrize("text", DISGUISED.values(), ids=DISGUISED.keys())
def test_disguised_term_is_matched(text):
    assert contains_term(text, "miracle")
    assert not contains_term(text, "glowing")  # still whole words only


def test_look_alikes_fold_to_latin_and_real_accents_stay():
    assert visible_form("Сrème") == "crème"  # Cyrillic С folded; è is Latin and stays
    assert visible_form("Sữa rửa mặt") == "sữa rửa mặt"
    assert not contains_term("Miraculous", "miracle")


def test_mixed_script_word_is_named():
    assert mixed_script_word("Pure m\u0456racle serum") == "m\u0456racle"
    assert mixed_script_word("Ω\u200bmega glow") == "Ωmega"
    for clean in ("Sữa rửa mặt", "日本のコスメ SALE", "한국 skincare", "50% OFF", "Serum №5", "5\u00b5m mist"):
        assert mixed_script_word(clean) is None, clean


def _brief(headline: str, *, avoid=(), subhead: str = "Daily care") -> Brief:
    concepts = [Concept(name="a", headline=headline, subhead=subhead, cta="Shop now", scene="a bathroom shelf"),
                Concept(name="b", headline="Soft skin", cta="Shop now", scene="a marble tray")]
    return Brief(brand="Lumen Skin", channel="meta_static", avoid=list(avoid), concepts=concepts)


@pytest.mark.parametrize("text", DISGUISED.values(), ids=DISGUISED.keys())
def test_check_policy_refuses_disguised_banned_word(text):
    with pytest.raises(InputError) as info:
        check_policy(_brief(text), ["miracle"])
    message = info.value.message
    assert "Copy refused: concept 'a' Headline" in message
    assert "'miracle' from the brand's banned words" in message or "mixes letters" in message


def test_check_policy_refuses_avoid_term_behind_soft_hyphen():
    with pytest.raises(InputError, match="contains 'cheap' from the brief's avoid list"):
        check_policy(_brief("Not ch\u00adeap, just good", avoid=["cheap"]), [])


@pytest.mark.parametrize(("text", "why"), [
    ("Glow \ufffd serum", "U+FFFD"),
    ("Glow &bogus; serum", "'&bogus;'"),
    ("Glow &#8217; serum", "'&#8217;'"),
    ("Glow\x07 serum", "U+0007"),
])
def test_decoding_accidents_never_reach_the_ad(text, why):
    with pytest.raises(InputError) as info:
        check_policy(_brief("Fine", subhead=text), [])
    assert why in info.value.message and "Subhead" in info.value.message


def test_clean_copy_passes():
    check_policy(_brief("Crème for café mornings: 50% off"), ["miracle", "cure"])


def test_cli_refuses_cyrillic_look_alike_before_spending(tmp_path):
    path = tmp_path / "brief.md"
    path.write_text(render_brief(_brief("Pure m\u0456racle serum")), encoding="utf-8")
    outcome = invoke("run", "--brief", str(path), "--dry-run", "--runs-dir", str(tmp_path / "runs"))
    assert_one_clear_line(outcome, EXIT_BAD_INPUT, "'m\u0456racle'", "mixes letters")
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_cli_refuses_zero_width_banned_word(tmp_path):
    path = tmp_path / "brief.md"
    path.write_text(render_brief(_brief("Mir\u200bacle glow")), encoding="utf-8")
    outcome = invoke("run", "--brief", str(path), "--dry-run", "--runs-dir", str(tmp_path / "runs"))
    assert_one_clear_line(outcome, EXIT_BAD_INPUT, "'miracle' from the brand's banned words")
