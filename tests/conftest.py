"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from creative.mock.comfy import MockOptions, MockServer
from comfy_replay import ReplayServer
from research_site import serve_site


@pytest.fixture
def mock_comfy() -> Iterator[Callable[..., MockServer]]:
    """Factory: `server = mock_comfy(latency=0.0, ...)` (MockOptions fields) -> started MockServer."""
    servers: list[MockServer] = []

    def start(**options: object) -> MockServer:
        server = MockServer(MockOptions(**options)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def replay() -> Iterator[Callable[..., ReplayServer]]:
    """Factory: `server = replay(mode="success", **kw)` -> a started server replaying recorded frames."""
    servers: list[ReplayServer] = []

    def start(mode: str = "success", **kw: object) -> ReplayServer:
        servers.append(ReplayServer(mode, **kw).start())
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def site_server():
    """A local product site (tests/research_site.py), started once per test module."""
    with serve_site() as server:
        yield server


@pytest.fixture
def site(site_server):
    """The module's site with robots.txt reset and its request log cleared for each test."""
    site_server.robots, site_server.robots_status = None, 200
    site_server.requests.clear()
    return site_server


@pytest.fixture(scope="module")
def chromium():
    """One headless Chromium session for a whole test module."""
    from creative.research.browser import BrowserSession

    with BrowserSession() as session:
        yield session
