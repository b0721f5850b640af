"""robots.txt: fetch it with our User-Agent and refuse URLs it disallows."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from creative.core.errors import ResearchError
from creative.research.static import USER_AGENT

if TYPE_CHECKING:
    from urllib.robotparser import RobotFileParser

    import httpx

log = logging.getLogger(__name__)

# Google reads at most 500 KiB of robots.txt; rules past that are ignored, not an error.
MAX_ROBOTS_BYTES = 500 * 1024


def robots_url(url: str) -> str | None:
    """The robots.txt URL for an http(s) URL; None for file:// and local paths."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return urlunsplit((parts.scheme, parts.netloc, "/robots.txt", "", ""))


def load_robots(
    url: str,
    *,
    transport: httpx.BaseTransport | None = None,
    timeout_s: float = 10.0,
    user_agent: str = USER_AGENT,
) -> RobotFileParser | None:
    """Fetch and parse robots.txt for `url`'s site; None when there is none to obey."""
    target = robots_url(url)
    if target is None:
        return None
    # Loaded only when there is a site to ask (urllib's parser brings http.client and ssl):
    # a saved page needs neither.
    from urllib.robotparser import RobotFileParser

    import httpx

    deadline = time.monotonic() + timeout_s
    try:
        with httpx.Client(
            transport=transport, follow_redirects=True, max_redirects=5, timeout=timeout_s,
            headers={"User-Agent": user_agent, "Accept": "text/plain,*/*;q=0.1"},
        ) as client:
            with client.stream("GET", target) as resp:
                body = b""
                if resp.status_code < 400:
                    for chunk in resp.iter_bytes():
                        if time.monotonic() > deadline:  # a byte-a-second server never times out a read
                            raise httpx.ReadTimeout(f"not finished within {timeout_s:g} s")
                        body += chunk
                        if len(body) >= MAX_ROBOTS_BYTES:
                            body = body[:MAX_ROBOTS_BYTES]
                            break
                status = resp.status_code
    except httpx.HTTPError as exc:
        # An unreachable robots.txt is not a refusal: the page fetch that follows reports
        # the real network problem with a better message.
        log.warning("could not read %s (%s); treating it as allowing everything", target, exc)
        return None
    parser = RobotFileParser(target)
    if status in (401, 403):
        # Same rule as urllib.robotparser.read(): a protected robots.txt means "keep out".
        parser.disallow_all = True
    elif status >= 400:
        log.info("%s: HTTP %d, no robots rules", target, status)
        return None
    else:
        parser.parse(body.decode("utf-8", errors="replace").splitlines())
    return parser


def check_robots(
    url: str,
    *,
    transport: httpx.BaseTransport | None = None,
    timeout_s: float = 10.0,
    user_agent: str = USER_AGENT,
) -> None:
    """Raise ResearchError when robots.txt disallows fetching `url` with our User-Agent."""
    parser = load_robots(url, transport=transport, timeout_s=timeout_s, user_agent=user_agent)
    if parser is None or parser.can_fetch(user_agent, url):
        return
    raise ResearchError(
        f"{robots_url(url)} disallows fetching {url} for User-Agent {user_agent.split('/')[0]!r}",
        hint="save the page and pass the file path, or pass --ignore-robots if you have permission "
        "to fetch it",
    )
