"""Small text helpers shared by the stages."""

from __future__ import annotations

import re
import unicodedata


def slugify(text: str, max_len: int = 40, fallback: str = "") -> str:
    """ASCII slug for names and file names: 'Sữa rửa mặt' -> 'sua-rua-mat'."""
    text = text.replace("đ", "d").replace("Đ", "D")  # đ has no Unicode decomposition
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_len].rstrip("-") or fallback


def quote_short(text: str, limit: int = 60) -> str:
    """`text` in quotes for a message, cut at a word near `limit` characters: 'Radiance Radiance …'."""
    flat = " ".join(text.split())
    if len(flat) > limit:
        cut = flat[:limit].rsplit(" ", 1)[0] if " " in flat[:limit] else flat[:limit]
        flat = cut + " …"
    return f"'{flat}'"


class CharRanges:
    """Whether a text holds a character in some Unicode ranges (a script), e.g. CJK ideographs.

    A regex class over wide ranges costs milliseconds to compile (Python walks every character
    of them), so it is compiled the first time a text reaches the ranges' lowest character:
    a page in a Latin script never pays for it."""

    def __init__(self, ranges: str):
        self._class = f"[{ranges}]"
        self._lowest = min(ranges.replace("-", ""))
        self._pattern: re.Pattern | None = None

    def found_in(self, text: str) -> bool:
        if not text or max(text) < self._lowest:
            return False
        if self._pattern is None:
            self._pattern = re.compile(self._class)
        return self._pattern.search(text) is not None
