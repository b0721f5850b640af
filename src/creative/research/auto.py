"""Decide whether a statically fetched page is a JavaScript shell that needs a real browser."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from creative.core.models import ResearchNotes

# Fewer visible words than this, with no product facts, reads as a shell rather than a page.
MIN_VISIBLE_WORDS = 60
_HIDDEN = {"script", "style", "noscript", "template", "head", "title", "svg"}
_DATA_SCRIPTS = {"application/ld+json", "application/json", "text/template", "importmap"}
_WORD = re.compile(r"\w+", re.UNICODE)


class _Visible(HTMLParser):
    """Counts words a reader would see without JavaScript, and the scripts that could add more."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hidden_depth = 0
        self.words = 0
        self.scripts = 0
        self.noscript = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            kind = (dict(attrs).get("type") or "").strip().lower()
            if kind not in _DATA_SCRIPTS:
                self.scripts += 1
        if tag == "noscript":
            self.noscript = True
        if tag in _HIDDEN:
            self.hidden_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN and self.hidden_depth:
            self.hidden_depth -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden_depth:
            self.words += len(_WORD.findall(data))


def shell_reason(html: str, notes: ResearchNotes) -> str | None:
    """Why `html` looks like a JavaScript shell (a reason to render it), or None if it reads fine."""
    seen = _Visible()
    try:
        seen.feed(html)
        seen.close()
    except Exception:  # noqa: BLE001 - a page we cannot parse is judged on what was read
        pass
    if not seen.scripts:
        return None  # nothing could render more content, so a browser would see the same
    product_source = notes.sources.get("product_name", "")
    # A <title> alone names the shop, not the product; structured data or a price does.
    has_facts = bool(notes.price) or (bool(notes.product_name) and product_source != "html <title>")
    if has_facts:
        return None
    if seen.words < MIN_VISIBLE_WORDS:
        shell = " inside a <noscript>/root-div shell" if seen.noscript or seen.words < 5 else ""
        return (f"no product facts and only {seen.words} visible words{shell}, "
                f"with {seen.scripts} script(s) to run")
    return None
