"""Where a line of copy may break: at spaces, and inside words of scripts written without them.

Japanese and Chinese are written without spaces, so a headline in them is one long "word";
it may break between characters, by the Unicode line-breaking rules (UAX #14, through uniseg),
which keep closing punctuation and small kana with what they follow.
"""

from __future__ import annotations

from uniseg.linebreak import line_break_units

from creative.core.text import CharRanges

_NO_SPACES_SCRIPT = CharRanges("\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef")


def break_units(word: str) -> list[str]:
    """A space-free word split where a line may break: itself unless it has Japanese or Chinese."""
    if not _NO_SPACES_SCRIPT.found_in(word):
        return [word]
    return [unit for unit in line_break_units(word) if unit]
