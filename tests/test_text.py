"""Small text helpers: character ranges of a script."""

from __future__ import annotations

from creative.core.text import CharRanges

CJK = CharRanges("\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af")


def test_char_ranges_find_a_character_of_the_script_anywhere():
    assert CJK.found_in("Serum 日本")  # an ideograph after Latin text
    assert CJK.found_in("세럼")  # Hangul, the last range
    assert CJK.found_in("ひらがな")  # the lowest range's first block


def test_char_ranges_reject_text_outside_them_including_above_and_between():
    assert not CJK.found_in("")
    assert not CJK.found_in("Crème de nuit — 50 ml €")
    assert not CJK.found_in("\uffef\ud7b0")  # above the last range, and just past Hangul
    assert not CJK.found_in("\u3100")  # between two ranges (Bopomofo)
