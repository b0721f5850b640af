"""Render a product page in the system Chromium with Playwright: rendered DOM + screenshot."""

from __future__ import annotations

import logging
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from creative.core.atomic import write_atomic
from creative.core.errors import ResearchError
from creative.core.redact import split_credentials
from creative.research.static import HTML_TYPES, USER_AGENT

log = logging.getLogger(__name__)

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_ENV = "CREATIVE_CHROMIUM_PATH"
LAUNCH_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
VIEWPORT = {"width": 1280, "height": 800}
# "Full-page-ish": long pages are cut here so the reference PNG stays a few MB at most.
MAX_SCREENSHOT_HEIGHT = 4000
# After "load", wait this long at most for late XHR/fetch calls that fill in the product.
SETTLE_MS = 5000

INSTALL_HINT = (
    "install Chromium (apt-get install chromium), or set research.chromium_path / "
    f"{CHROMIUM_ENV} to the browser executable; or use --research static"
)


@dataclass(frozen=True)
class RenderedPage:
    """The DOM after JavaScript ran, and a PNG screenshot of it."""

    url: str
    final_url: str
    html: str
    screenshot: bytes | None


def find_chromium(explicit: str | os.PathLike[str] | None = None) -> str:
    """Return the Chromium executable: `explicit`, $CREATIVE_CHROMIUM_PATH, else the first on PATH."""
    configured = explicit or os.environ.get(CHROMIUM_ENV)
    if configured:
        path = Path(configured).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
        found = shutil.which(str(configured))
        if found:
            return found
        raise ResearchError(f"Chromium not found at {configured}", hint=INSTALL_HINT)
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise ResearchError(
        "The browser research backend needs Chromium, and none was found on PATH "
        f"({', '.join(CHROMIUM_NAMES)})",
        hint=INSTALL_HINT,
    )


class BrowserSession:
    """One headless Chromium, reused for several pages; use as a context manager.

    Playwright's sync API refuses to run on a thread with a running asyncio loop and allows one
    driver per thread, so every call runs on this session's own worker thread.
    """

    def __init__(self, executable_path: str | os.PathLike[str] | None = None) -> None:
        self.executable_path = find_chromium(executable_path)
        self._pw: Any = None
        self._browser: Any = None
        self._worker: ThreadPoolExecutor | None = ThreadPoolExecutor(1, thread_name_prefix="chromium")

    def __enter__(self) -> BrowserSession:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def start(self) -> BrowserSession:
        """Launch Chromium (idempotent)."""
        return self._pool().submit(self._start).result()

    def _pool(self) -> ThreadPoolExecutor:
        if self._worker is None:
            raise RuntimeError("BrowserSession is closed")
        return self._worker

    def close(self) -> None:
        """Close the browser, the Playwright driver and the worker thread (idempotent)."""
        if self._worker is None:
            return
        try:
            self._worker.submit(self._close).result()
        finally:
            self._worker.shutdown(wait=True)
            self._worker = None

    def render(self, url: str, *, timeout_s: float = 30.0, max_bytes: int = 5_000_000,
               screenshot: bool = True) -> RenderedPage:
        """Load `url`, let its scripts run, and return the rendered DOM (and a screenshot)."""
        return self._pool().submit(self._render, url, timeout_s, max_bytes, screenshot).result()

    def _start(self) -> BrowserSession:
        if self._browser is not None:
            return self
        from playwright.sync_api import (  # heavy import, only when used
            Error,
            sync_playwright,
        )

        self._pw = sync_playwright().start()
        try:
            self._browser = self._pw.chromium.launch(
                executable_path=self.executable_path, headless=True, args=list(LAUNCH_ARGS)
            )
        except Error as exc:
            self._pw.stop()
            self._pw = None
            raise ResearchError(
                f"Could not start Chromium at {self.executable_path}: {_first_line(exc)}",
                hint=INSTALL_HINT,
            ) from None
        log.info("launched Chromium %s (%s)", self._browser.version, self.executable_path)
        return self

    def _close(self) -> None:
        if self._browser is not None:
            self._browser.close()
            self._browser = None
        if self._pw is not None:
            self._pw.stop()
            self._pw = None

    def _render(self, url: str, timeout_s: float, max_bytes: int, screenshot: bool) -> RenderedPage:
        from playwright.sync_api import Error
        from playwright.sync_api import TimeoutError as PwTimeout

        self._start()
        # A password in the URL goes to Chromium as HTTP credentials, never in the address it
        # navigates to: page.url, which is written to research.json, then has none.
        url, credentials = split_credentials(url)
        auth = {"username": credentials[0], "password": credentials[1]} if credentials else None
        context = self._browser.new_context(user_agent=USER_AGENT, viewport=VIEWPORT, http_credentials=auth)
        try:
            page = context.new_page()
            page.set_default_timeout(timeout_s * 1000)
            try:
                response = page.goto(url, wait_until="load", timeout=timeout_s * 1000)
            except PwTimeout:
                raise ResearchError(
                    f"Could not fetch {url} in Chromium: timed out after {timeout_s:g} s",
                    hint="check the site is up, or raise the research timeout",
                ) from None
            except Error as exc:
                raise ResearchError(
                    f"Could not fetch {url} in Chromium: {_first_line(exc)}",
                    hint="check the URL, or save the page and pass the file path instead",
                ) from None
            _check_response(url, response)
            try:
                page.wait_for_load_state("networkidle", timeout=min(SETTLE_MS, timeout_s * 1000))
            except PwTimeout:
                log.info("%s kept the network busy; using the DOM as it is", url)
            html = page.content()
            if len(html.encode("utf-8")) > max_bytes:
                raise ResearchError(
                    f"Could not use {url}: rendered page is over the {max_bytes:,}-byte limit",
                    hint="raise the research size limit or save a smaller copy of the page",
                )
            png = _screenshot(page) if screenshot else None
            final_url = page.url
        finally:
            context.close()
        log.info("rendered %s in Chromium (%d chars of HTML)", final_url, len(html))
        return RenderedPage(url=url, final_url=final_url, html=html, screenshot=png)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "message", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _check_response(url: str, response: Any) -> None:
    """Same rules as the static fetch: HTTP errors and non-HTML documents are refused."""
    if response is None:  # file:// and same-document navigations have no HTTP response
        return
    if response.status >= 400:
        raise ResearchError(
            f"Could not fetch {url}: HTTP {response.status} {response.status_text}".rstrip(),
            hint="check the URL, or save the page and pass the file path instead",
        )
    mime = (response.headers.get("content-type") or "").split(";")[0].strip().lower()
    if mime and mime not in HTML_TYPES:
        raise ResearchError(
            f"Could not use {url}: content-type is {mime!r}, not an HTML page",
            hint="pass the product page URL, not a file or API link",
        )


def _screenshot(page: Any) -> bytes:
    height = page.evaluate(
        "() => Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0)"
    )
    if height <= MAX_SCREENSHOT_HEIGHT:
        return page.screenshot(full_page=True, type="png")
    width = page.viewport_size["width"]
    return page.screenshot(
        full_page=True, type="png", clip={"x": 0, "y": 0, "width": width, "height": MAX_SCREENSHOT_HEIGHT}
    )


def render_page(
    url: str,
    *,
    executable_path: str | os.PathLike[str] | None = None,
    timeout_s: float = 30.0,
    max_bytes: int = 5_000_000,
    screenshot_path: str | os.PathLike[str] | None = None,
    session: BrowserSession | None = None,
) -> RenderedPage:
    """Render `url` in Chromium (a new one, or `session`'s); write the PNG to `screenshot_path`."""
    if session is not None:
        page = session.render(url, timeout_s=timeout_s, max_bytes=max_bytes)
    else:
        with BrowserSession(executable_path) as own:
            page = own.render(url, timeout_s=timeout_s, max_bytes=max_bytes)
    if screenshot_path is not None and page.screenshot is not None:
        write_atomic(Path(screenshot_path), page.screenshot)
        log.info("wrote reference screenshot %s", screenshot_path)
    return page
