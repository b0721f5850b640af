"""Fetch a product page over HTTP(S) with httpx: limits, content-type check, charset."""

from __future__ import annotations

import codecs
import logging
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from creative import __version__
from creative.core.errors import ResearchError

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

USER_AGENT = f"creative/{__version__} (+ad-creative research)"
MAX_REDIRECTS = 5
HTML_TYPES = ("text/html", "application/xhtml+xml")

# <meta charset="x"> and <meta http-equiv="Content-Type" content="text/html; charset=x">
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


@dataclass(frozen=True)
class FetchedPage:
    """A fetched HTML document, decoded."""

    url: str
    final_url: str
    html: str
    charset: str


def _codec(name: str | None) -> str | None:
    """Return a Python codec name for a declared charset, or None if unknown."""
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        log.warning("unknown charset %r, ignoring it", name)
        return None


def sniff_charset(body: bytes, header_charset: str | None = None) -> str:
    """Pick the charset: BOM, then the HTTP header, then <meta charset>, then utf-8."""
    if body.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    for candidate in (header_charset, *_META_CHARSET.findall(body[:4096])[:1]):
        if isinstance(candidate, bytes):
            candidate = candidate.decode("ascii", "replace")
        codec = _codec(candidate)
        if codec:
            return codec
    return "utf-8"


def decode_html(body: bytes, header_charset: str | None = None) -> tuple[str, str]:
    """Decode page bytes; undecodable bytes are replaced rather than failing the run."""
    charset = sniff_charset(body, header_charset)
    return body.decode(charset, errors="replace"), charset


def _parse_content_type(value: str) -> tuple[str, str | None]:
    parts = [p.strip() for p in value.split(";")]
    mime = parts[0].lower()
    charset = None
    for p in parts[1:]:
        key, _, val = p.partition("=")
        if key.strip().lower() == "charset":
            charset = val.strip().strip("\"'") or None
    return mime, charset


def fetch_html(
    url: str,
    *,
    transport: httpx.BaseTransport | None = None,
    timeout_s: float = 15.0,
    max_bytes: int = 5_000_000,
    max_redirects: int = MAX_REDIRECTS,
) -> FetchedPage:
    """GET `url` and return the decoded HTML, or raise ResearchError saying what went wrong.

    `timeout_s` bounds the whole fetch, body included: httpx's read timeout restarts with every
    byte, so a server sending one byte a second would otherwise never time out.
    """
    import httpx  # loaded for a download only: a saved page is read without it

    deadline = time.monotonic() + timeout_s
    headers = {"User-Agent": USER_AGENT, "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"}
    fix = "check the URL, or save the page and pass the file path instead"
    try:
        with httpx.Client(
            transport=transport,
            follow_redirects=True,
            max_redirects=max_redirects,
            timeout=timeout_s,
            headers=headers,
        ) as client:
            with client.stream("GET", url) as resp:
                final_url = str(resp.url)
                if resp.status_code >= 400:
                    raise ResearchError(
                        f"Could not fetch {url}: HTTP {resp.status_code} {resp.reason_phrase}".rstrip(),
                        hint=fix,
                    )
                mime, header_charset = _parse_content_type(resp.headers.get("content-type", ""))
                if mime and mime not in HTML_TYPES:
                    raise ResearchError(
                        f"Could not use {url}: content-type is {mime!r}, not an HTML page",
                        hint="pass the product page URL, not a file or API link",
                    )
                declared = resp.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise ResearchError(
                        f"Could not use {url}: page is {int(declared):,} bytes, over the "
                        f"{max_bytes:,}-byte limit",
                        hint="raise the research size limit or save a smaller copy of the page",
                    )
                chunks: list[bytes] = []
                size = 0
                # The header can lie or be absent (chunked), so the cap is enforced while reading.
                for chunk in resp.iter_bytes():
                    size += len(chunk)
                    if time.monotonic() > deadline:
                        raise ResearchError(
                            f"Could not fetch {url}: the page did not finish downloading within "
                            f"{timeout_s:g} s ({size:,} bytes received; the server sends it too slowly)",
                            hint="check the site is up, or raise the research timeout",
                        )
                    if size > max_bytes:
                        raise ResearchError(
                            f"Could not use {url}: page is over the {max_bytes:,}-byte limit",
                            hint="raise the research size limit or save a smaller copy of the page",
                        )
                    chunks.append(chunk)
    except ResearchError:
        raise
    except httpx.TooManyRedirects:
        raise ResearchError(
            f"Could not fetch {url}: redirect loop (more than {max_redirects} redirects)", hint=fix
        ) from None
    except httpx.TimeoutException:
        raise ResearchError(
            f"Could not fetch {url}: timed out after {timeout_s:g} s",
            hint="check the site is up, or raise the research timeout",
        ) from None
    except httpx.ConnectError as exc:
        raise ResearchError(f"Could not fetch {url}: unreachable ({exc})", hint=fix) from None
    except httpx.UnsupportedProtocol:
        raise ResearchError(f"Could not fetch {url}: unsupported URL scheme", hint=fix) from None
    except httpx.InvalidURL as exc:
        raise ResearchError(f"Could not fetch {url}: invalid URL ({exc})", hint=fix) from None
    except httpx.HTTPError as exc:
        raise ResearchError(f"Could not fetch {url}: {type(exc).__name__}: {exc}", hint=fix) from None

    body = b"".join(chunks)
    if not mime and not body.lstrip()[:1] == b"<":
        raise ResearchError(f"Could not use {url}: no content-type and the body is not HTML")
    html, charset = decode_html(body, header_charset)
    log.info("fetched %s (%d bytes, %s)", final_url, size, charset)
    return FetchedPage(url=url, final_url=final_url, html=html, charset=charset)
