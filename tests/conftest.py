"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from creative.comfy.mock import MockOptions, MockServer


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
