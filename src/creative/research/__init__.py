"""Research stage: fetch the product page and extract facts into research.json / research.md."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

import httpx

from creative.errors import ResearchError
from creative.models import ResearchNotes
from creative.research.extract import extract_notes
from creative.research.static import decode_html, fetch_html

__all__ = ["research", "write_research", "render_research_md", "extract_notes", "fetch_html"]

log = logging.getLogger(__name__)


def _local_path(url: str) -> Path | None:
    """Return the file path for file:// URLs and bare paths, None for http(s)."""
    parsed = urlparse(url)
    if parsed.scheme in ("http", "https"):
        return None
    if parsed.scheme == "file":
        return Path(url2pathname(unquote(parsed.path)))
    # A one-letter scheme is a Windows drive ("C:\\page.html"), not a URL scheme.
    if parsed.scheme and len(parsed.scheme) > 1:
        raise ResearchError(
            f"Cannot research {url}: unsupported URL scheme {parsed.scheme!r}",
            hint="use an http(s):// URL, a file:// URL or a local file path",
        )
    return Path(url).expanduser()


def research(
    url: str,
    *,
    transport: httpx.BaseTransport | None = None,
    timeout_s: float = 15.0,
    max_bytes: int = 5_000_000,
) -> ResearchNotes:
    """Fetch `url` (http(s)://, file:// or a local path) and extract the product facts."""
    path = _local_path(url)
    if path is None:
        page = fetch_html(url, transport=transport, timeout_s=timeout_s, max_bytes=max_bytes)
        notes = extract_notes(page.html, page.final_url)
        return notes.model_copy(update={"url": url, "final_url": page.final_url})
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
    file_url = path.resolve().as_uri()
    notes = extract_notes(html, file_url)
    return notes.model_copy(update={"url": url, "final_url": file_url})


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _md_cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


_FACTS = ("product_name", "brand", "price", "currency", "availability", "rating", "review_count",
          "title", "language")


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


def write_research(notes: ResearchNotes, run_dir: Path) -> None:
    """Write research.json and research.md into `run_dir` atomically."""
    run_dir = Path(run_dir)
    _atomic_write(run_dir / "research.json", notes.model_dump_json(indent=2) + "\n")
    _atomic_write(run_dir / "research.md", render_research_md(notes))
    log.info("wrote research.json and research.md to %s", run_dir)
