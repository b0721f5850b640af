"""Download a site's stylesheet or image with the research limits: size cap, timeout, content type."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx

from creative.research.static import MAX_REDIRECTS, USER_AGENT

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Asset:
    url: str
    content_type: str
    body: bytes


class AssetError(Exception):
    """An asset that could not be used; brand init logs it and tries the next candidate."""


def fetch_asset(
    url: str,
    *,
    accept: tuple[str, ...],
    max_bytes: int,
    timeout_s: float,
    client: httpx.Client | None = None,
) -> Asset:
    """GET `url`; its content type must start with one of `accept` and its body stay under `max_bytes`."""
    own = client is None
    client = client or new_client(timeout_s)
    try:
        with client.stream("GET", url, timeout=timeout_s) as resp:
            if resp.status_code >= 400:
                raise AssetError(f"{url}: HTTP {resp.status_code}")
            ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
            if not any(ctype.startswith(a) for a in accept):
                raise AssetError(f"{url}: content-type {ctype or '(none)'} is not {' or '.join(accept)}")
            declared = resp.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise AssetError(f"{url}: {int(declared):,} bytes, over the {max_bytes:,}-byte limit")
            chunks, size = [], 0
            for chunk in resp.iter_bytes():
                size += len(chunk)
                if size > max_bytes:  # the header can be absent or wrong
                    raise AssetError(f"{url}: over the {max_bytes:,}-byte limit")
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise AssetError(f"{url}: {type(exc).__name__}: {exc}") from None
    finally:
        if own:
            client.close()
    return Asset(url=url, content_type=ctype, body=b"".join(chunks))


def new_client(timeout_s: float, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """An HTTP client with the research User-Agent and redirect limit."""
    return httpx.Client(transport=transport, follow_redirects=True, max_redirects=MAX_REDIRECTS, timeout=timeout_s,
                        headers={"User-Agent": USER_AGENT})
