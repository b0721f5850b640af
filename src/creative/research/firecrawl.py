"""Scrape a product page through Firecrawl (cloud or self-hosted) with firecrawl-py's v2 API."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from html import escape
from typing import Any

from creative.core.errors import ResearchError
from creative.core.models import ResearchNotes
from creative.core.redact import strip_credentials

log = logging.getLogger(__name__)

API_KEY_ENV = "FIRECRAWL_API_KEY"
DEFAULT_API_URL = "https://api.firecrawl.dev"
# One scrape is one credit; at the entry plan's price that is about a tenth of a cent.
DEFAULT_COST_PER_SCRAPE_USD = 0.001
FORMATS = ["markdown", "html"]


def scrape_cost_usd(cost_per_scrape_usd: float = DEFAULT_COST_PER_SCRAPE_USD, scrapes: int = 1) -> float:
    """What the research stage adds to a run's budget estimate when it uses Firecrawl."""
    return round(cost_per_scrape_usd * scrapes, 6)


def redact(text: str, secret: str | None) -> str:
    """Replace every occurrence of `secret` in `text`; keys must never reach notes or logs."""
    return text.replace(secret, "***") if secret else text


def fetch_firecrawl(
    url: str,
    *,
    api_url: str | None = None,
    timeout_s: float = 30.0,
    env: Mapping[str, str] | None = None,
) -> ResearchNotes:
    """Scrape `url` through Firecrawl and extract notes; the key is read from FIRECRAWL_API_KEY."""
    from firecrawl import Firecrawl  # heavy import, only when this backend is used

    api_key = (env if env is not None else os.environ).get(API_KEY_ENV) or None
    base = (api_url or DEFAULT_API_URL).rstrip("/")
    # max_retries=1: one attempt; a timeout should surface now, not after SDK back-off retries.
    client = Firecrawl(api_key=api_key, api_url=base, timeout=timeout_s, max_retries=1)
    try:
        doc = client.scrape(url, formats=FORMATS, timeout=int(timeout_s * 1000))
    except Exception as exc:  # noqa: BLE001 - every SDK/transport failure becomes a ResearchError
        raise _research_error(exc, url, base, timeout_s, api_key) from None
    return _notes(doc, url, api_key)


def _research_error(exc: Exception, url: str, base: str, timeout_s: float, key: str | None) -> ResearchError:
    import requests
    from firecrawl import (
        PaymentRequiredError,
        RateLimitError,
        RequestTimeoutError,
        UnauthorizedError,
    )

    where = f"Firecrawl ({base})"
    if isinstance(exc, UnauthorizedError):
        err = ResearchError(
            f"{where} refused the API key (HTTP 401) while scraping {url}",
            hint=f"set {API_KEY_ENV} to a valid key, or point research at a self-hosted Firecrawl",
        )
    elif isinstance(exc, PaymentRequiredError):
        err = ResearchError(
            f"{where} is out of credits (HTTP 402) while scraping {url}",
            hint="top up the Firecrawl account, or use --research static/browser",
        )
    elif isinstance(exc, RateLimitError):
        wait = _retry_after(exc)
        when = f"retry after {wait} s" if wait else "retry later"
        err = ResearchError(
            f"{where} rate limited the scrape of {url} (HTTP 429); {when}",
            hint="wait and run again, or use --research static/browser",
        )
    elif isinstance(exc, (RequestTimeoutError, requests.Timeout)):
        err = ResearchError(
            f"{where} did not finish scraping {url} within {timeout_s:g} s",
            hint="raise the research timeout, or try --research browser",
        )
    elif isinstance(exc, requests.ConnectionError):
        err = ResearchError(
            f"Could not reach {where} to scrape {url}",
            hint="check the Firecrawl api_url and that the server is running",
        )
    else:
        status = getattr(exc, "status_code", None)
        detail = " ".join(str(exc).split())[:300]
        err = ResearchError(
            f"{where} failed to scrape {url}" + (f" (HTTP {status})" if status else "") + f": {detail}",
            hint="check the URL and the Firecrawl server",
        )
    err.message = redact(err.message, key)
    err.args = (err.message,)
    return err


def _retry_after(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    return value.strip() if value and value.strip().isdigit() else None


def _meta(doc: Any) -> dict[str, Any]:
    meta = getattr(doc, "metadata", None)
    if meta is None:
        return {}
    if isinstance(meta, dict):
        return meta
    return meta.model_dump(exclude_none=True)


# Firecrawl's cleaned html has no <head>: its metadata is rebuilt as one so extract_notes reads
# title, description, language and og: tags exactly as it does for other backends.
_HEAD_SOURCES = {
    "html <title>": "firecrawl metadata.title",
    "meta description": "firecrawl metadata.description",
    "og:title": "firecrawl metadata.og_title",
    "og:description": "firecrawl metadata.og_description",
    "og:site_name": "firecrawl metadata.og_site_name",
    "html lang": "firecrawl metadata.language",
}


def _head(meta: dict[str, Any]) -> str:
    def tag(attr: str, name: str, key: str) -> str:
        value = meta.get(key)
        return f'<meta {attr}="{name}" content="{escape(str(value))}">' if value else ""

    title = f"<title>{escape(str(meta['title']))}</title>" if meta.get("title") else ""
    lang = f' lang="{escape(str(meta["language"]))}"' if meta.get("language") else ""
    tags = [
        tag("name", "description", "description"), tag("property", "og:title", "og_title"),
        tag("property", "og:description", "og_description"), tag("property", "og:image", "og_image"),
        tag("property", "og:site_name", "og_site_name"),
    ]
    return f"<html{lang}><head>{title}{''.join(tags)}</head>"


def _notes(doc: Any, url: str, key: str | None) -> ResearchNotes:
    meta = _meta(doc)
    status = meta.get("status_code") or meta.get("statusCode")
    # Relative images are joined onto this URL: a password in it would be copied into each one.
    final_url = strip_credentials(str(meta.get("url") or meta.get("source_url") or meta.get("sourceURL") or url))
    if isinstance(status, int) and status >= 400:
        raise ResearchError(
            redact(f"Could not fetch {url}: HTTP {status} (reported by Firecrawl)", key),
            hint="check the URL",
        )
    html = f"{_head(meta)}<body>{doc.html or ''}</body></html>"
    # The extraction engine (lxml, extruct, price parsing) loads with the first page, not with the price list.
    from creative.research.extract import extract_notes
    from creative.research.features import MAX_MAIN_TEXT

    notes = extract_notes(html, final_url, backend="firecrawl")
    sources = {k: _HEAD_SOURCES.get(v, v) for k, v in notes.sources.items()}
    update: dict[str, Any] = {"final_url": final_url, "sources": sources}
    if not notes.main_text and doc.markdown and doc.markdown.strip():
        update["main_text"] = doc.markdown.strip()[:MAX_MAIN_TEXT]
        sources["main_text"] = "firecrawl markdown"
    notes = notes.model_copy(update=update)
    if key:  # a page could echo the key back; it must not land in research.json
        notes = ResearchNotes.model_validate_json(redact(notes.model_dump_json(), key))
    log.info("scraped %s through Firecrawl", final_url)
    return notes
