"""Research stage: fetch the product page and extract facts into research.json / research.md."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from creative.core.atomic import write_atomic
from creative.core.errors import ResearchError
from creative.core.models import ResearchNotes
from creative.core.redact import strip_credentials
from creative.research.firecrawl import (
    DEFAULT_COST_PER_SCRAPE_USD,
    fetch_firecrawl,
    scrape_cost_usd,
)
from creative.research.robots import check_robots
from creative.research.static import decode_html, fetch_html

if TYPE_CHECKING:
    import httpx

    from creative.research.browser import BrowserSession

__all__ = [
    "BACKENDS", "DEFAULT_COST_PER_SCRAPE_USD", "check_robots", "extract_notes",
    "fetch_html", "render_research_md", "research", "research_cost_usd",
    "write_research",
]

BACKENDS = ("auto", "static", "browser", "firecrawl")
# A saved product page is one of these; anything else (a key file, /etc/shadow) is refused.
HTML_SUFFIXES = (".html", ".htm", ".xhtml", ".xht", ".shtml")
# Kernel and device trees: reading them can hang (a FIFO, /dev/zero) or expose the process.
SYSTEM_TREES = ("/proc", "/sys", "/dev")

log = logging.getLogger(__name__)


def __getattr__(name: str):
    # The extraction engine (lxml, extruct, jusText, price parsing) loads when a page is read:
    # pricing a run, or a run from a given brief, needs none of it.
    if name == "extract_notes":
        from creative.research.extract import extract_notes

        return extract_notes
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _local_path(url: str) -> Path | None:
    """Return the file path for file:// URLs and bare paths, None for http(s)."""
    parsed = urlparse(url)
    if parsed.scheme in ("http", "https"):
        return None
    if parsed.scheme == "file":
        from urllib.request import url2pathname  # urllib.request loads http.client and ssl: file:// URLs only

        return Path(url2pathname(unquote(parsed.path)))
    # A one-letter scheme is a Windows drive ("C:\\page.html"), not a URL scheme.
    if parsed.scheme and len(parsed.scheme) > 1:
        raise ResearchError(
            f"Cannot research {url}: unsupported URL scheme {parsed.scheme!r}",
            hint="use an http(s):// URL, a file:// URL or a local file path",
        )
    return Path(url).expanduser()


def check_local_page(path: Path) -> Path:
    """`path` resolved, when it is a regular HTML file outside /proc, /sys and /dev; else ResearchError."""
    resolved = path.resolve()
    if any(resolved == Path(tree) or Path(tree) in resolved.parents for tree in SYSTEM_TREES):
        raise ResearchError(f"Cannot use {path} as a product page: files under "
                            f"{', '.join(SYSTEM_TREES)} are never read",
                            hint="save the product page as an .html file and pass that")
    try:
        mode = resolved.stat().st_mode
    except OSError:
        raise ResearchError(f"Product page file not found: {path}",
                            hint="check the path, or pass an http(s):// URL") from None
    if not stat.S_ISREG(mode):
        raise ResearchError(f"Cannot use {path} as a product page: it is not a regular file",
                            hint="pass a saved .html file or an http(s):// URL")
    if resolved.suffix.lower() not in HTML_SUFFIXES:
        raise ResearchError(f"Cannot use {path} as a product page: only HTML files "
                            f"({', '.join(HTML_SUFFIXES)}) are read",
                            hint="save the product page as an .html file and pass that")
    return resolved


def without_credentials(notes: ResearchNotes) -> ResearchNotes:
    """`notes` with no user name, password or token in any URL they carry (page, redirect, images)."""
    return notes.model_copy(update={
        "url": strip_credentials(notes.url),
        "final_url": notes.final_url and strip_credentials(notes.final_url),
        "image_urls": [strip_credentials(u) for u in notes.image_urls],
    })


def research(
    url: str,
    *,
    transport: httpx.BaseTransport | None = None,
    timeout_s: float = 15.0,
    max_bytes: int = 5_000_000,
    backend: str = "auto",
    ignore_robots: bool = False,
    chromium_path: str | os.PathLike[str] | None = None,
    screenshot_path: str | os.PathLike[str] | None = None,
    browser: BrowserSession | None = None,
    firecrawl_api_url: str | None = None,
) -> ResearchNotes:
    """Fetch `url` (http(s)://, file:// or a local path) with `backend` and extract the product facts.

    backend: "static" (httpx), "browser" (headless Chromium), "firecrawl", or "auto" (static,
    then browser when the page is a JavaScript shell). The browser writes a reference PNG to
    `screenshot_path` when given; `browser` reuses an already running Chromium.
    """
    if backend not in BACKENDS:
        raise ResearchError(
            f"Unknown research backend {backend!r}", hint=f"use one of: {', '.join(BACKENDS)}"
        )
    from creative.research.extract import extract_notes  # see __getattr__

    path = _local_path(url)
    if path is not None:
        path = check_local_page(path)
    # Every return passes through without_credentials: nothing written carries a password.
    if backend == "firecrawl":
        if path is not None:
            raise ResearchError(
                f"The firecrawl backend cannot read local files ({url})",
                hint="use --research static or browser for a saved page",
            )
        notes = fetch_firecrawl(url, api_url=firecrawl_api_url, timeout_s=timeout_s)
        return without_credentials(notes.model_copy(update={"url": url}))
    if path is None and not ignore_robots:
        check_robots(url, transport=transport, timeout_s=timeout_s)

    def render(target: str) -> ResearchNotes:
        from creative.research.browser import render_page  # Chromium's driver: only when rendering

        page = render_page(
            target, executable_path=chromium_path, timeout_s=timeout_s, max_bytes=max_bytes,
            screenshot_path=screenshot_path, session=browser,
        )
        final = strip_credentials(page.final_url)  # relative images are joined onto it
        found = extract_notes(page.html, final, backend="browser")
        return without_credentials(found.model_copy(update={"url": url, "final_url": final}))

    if backend == "browser":
        return render(_local_uri(path) if path is not None else url)
    if path is None:
        page = fetch_html(url, transport=transport, timeout_s=timeout_s, max_bytes=max_bytes)
        # Relative images are joined onto this URL: without its credentials, they carry none.
        html, final_url, fetched = page.html, strip_credentials(page.final_url), page.final_url
    else:
        html, final_url = _read_local(path, max_bytes), _local_uri(path)
        fetched = final_url
    notes = extract_notes(html, final_url).model_copy(update={"url": url, "final_url": final_url})
    if backend == "auto":
        from creative.research.auto import shell_reason

        reason = shell_reason(html, notes)
        if reason:
            log.info("%s looks like a JavaScript shell (%s); rendering it in Chromium", url, reason)
            try:
                return render(fetched)  # with its credentials: the browser needs them
            except ResearchError as exc:
                exc.message = f"{url} needs JavaScript to show its content ({reason}): {exc.message}"
                exc.args = (exc.message,)
                raise
    return without_credentials(notes)


def _local_uri(path: Path) -> str:
    return path.resolve().as_uri()


def _read_local(path: Path, max_bytes: int) -> str:
    """Read and decode a saved page, with the same size cap as a download."""
    if not path.is_file():
        raise ResearchError(
            f"Product page file not found: {path}",
            hint="check the path, or pass an http(s):// URL",
        )
    size = path.stat().st_size
    if size > max_bytes:
        raise ResearchError(f"Product page file {path} is {size:,} bytes, over the {max_bytes:,}-byte limit")
    try:
        html, _ = decode_html(path.read_bytes())
    except OSError as exc:
        raise ResearchError(f"Cannot read product page file {path}: {exc.strerror or exc}") from None
    return html


def research_cost_usd(backend: str, cost_per_scrape_usd: float = DEFAULT_COST_PER_SCRAPE_USD) -> float:
    """Paid cost of one research call: only Firecrawl costs money."""
    return scrape_cost_usd(cost_per_scrape_usd) if backend == "firecrawl" else 0.0


def _md_cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


_FACTS = ("product_name", "brand", "site_name", "price", "regular_price", "currency", "availability",
          "rating", "rating_scale", "review_count", "category", "title", "language", "locale")


def render_research_md(notes: ResearchNotes) -> str:
    """Readable research.md: facts with their sources, features, description, images."""
    lines = [f"# Research: {notes.product_name or notes.title or notes.url}", ""]
    lines += [f"- URL: {notes.url}"]
    if notes.final_url and notes.final_url != notes.url:
        lines += [f"- Fetched from: {notes.final_url}"]
    lines += [f"- Backend: {notes.backend}", "", "## Facts", "", "| Fact | Value | Source |", "|---|---|---|"]
    for key in _FACTS:
        value = getattr(notes, key)
        if value is not None:
            lines.append(f"| {key} | {_md_cell(value)} | {_md_cell(notes.sources.get(key, ''))} |")
    if notes.breadcrumbs:
        lines += [f"| breadcrumbs | {_md_cell(' > '.join(notes.breadcrumbs))} | "
                  f"{_md_cell(notes.sources.get('breadcrumbs', ''))} |"]
    lines += ["", "## Features", ""]
    if notes.features:
        src = notes.sources.get("features")
        lines += [f"_Source: {src}_", ""] if src else []
        lines += [f"- {f}" for f in notes.features]
    else:
        lines.append("_None found._")
    lines += ["", "## Description", ""]
    if notes.description:
        lines += [notes.description, "", f"_Source: {notes.sources.get('description', '')}_"]
    else:
        lines.append("_None found._")
    if notes.main_text:
        lines += ["", "## Page text", "", notes.main_text]
    lines += ["", "## Images (reference only — never sent to image generation)", ""]
    lines += [f"- {u}" for u in notes.image_urls] or ["_None found._"]
    return "\n".join(lines) + "\n"


def write_research(notes: ResearchNotes, json_path: Path, md_path: Path) -> None:
    """Write the notes as JSON (for the stages) and Markdown (for people), atomically."""
    write_atomic(json_path, notes.model_dump_json(indent=2) + "\n")
    write_atomic(md_path, render_research_md(notes))
    log.info("wrote %s and %s", json_path, md_path)
