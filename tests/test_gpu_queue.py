"""GpuQueue: one dispatcher shared by runs in several threads (a batch), against the mock ComfyUI."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from creative.gen import dispatch
from creative.gen.dispatch import GenJob
from creative.gen.queue import GpuQueue
from creative.gen.workflow import default_workflow_path, load_workflow

REPO = Path(__file__).resolve().parents[1]


def product_jobs(product: int, n: int) -> list[GenJob]:
    wf = load_workflow(default_workflow_path(REPO / "templates"))
    return [GenJob(variant=i, graph=wf.apply(f"product {product} scene {i}", "text", 1000 * product + i, 128, 128),
                   output_node=wf.output_node, seed=1000 * product + i, filename=f"v{i:02d}.png")
            for i in range(1, n + 1)]


def in_threads(count: int, work) -> tuple[list, list[BaseException]]:
    """Run work(index) in `count` threads at once: (results, errors)."""
    results: list = [None] * count
    errors: list[BaseException] = []

    def target(index: int) -> None:
        try:
            results[index] = work(index)
        except BaseException as exc:  # KeyboardInterrupt included: it is what a cancelled run receives
            errors.append(exc)
    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, errors


def test_products_in_threads_share_the_servers_their_check_and_the_limit_of_our_prompts(mock_comfy, tmp_path,
                                                                                      monkeypatch):
    monkeypatch.setattr(dispatch, "MAX_IN_FLIGHT_PER_SERVER", 2)
    server = mock_comfy(latency=0.1)
    handled_in: dict[int, set[int]] = {0: set(), 1: set()}

    calls: dict[int, list[str]] = {0: [], 1: []}

    def product(index: int):
        def on_event(name: str, payload: dict) -> None:
            handled_in[index].add(threading.get_ident())
            calls[index].append(name)
        own = threading.get_ident()
        results = gpu.generate(product_jobs(index, 3), tmp_path / f"p{index}", on_event=on_event,
                               flush=lambda: calls[index].append("flush"))
        return own, results

    with GpuQueue([server.url], timeout_s=30) as gpu:
        outcomes, errors = in_threads(2, product)
    assert errors == []
    for index, (own, results) in enumerate(outcomes):
        assert [r.ok for r in results] == [True] * 3
        assert handled_in[index] == {own}  # each run's events are handled in its own thread
        # every group of events is flushed (e.g. to disk) before the jobs that sent them go on
        assert calls[index].count("submitted") == 3 and calls[index][-1] == "flush"
        assert sorted(p.name for p in (tmp_path / f"p{index}").glob("v*.png")) == ["v01.png", "v02.png", "v03.png"]
    assert len(server.executions) == 6
    # One queue: both products' prompts together never exceed the per-server limit ...
    assert max(server.queued_at_post) <= 2
    # ... and the server was checked once for the batch, not once per product.
    assert server.requests.count(("GET", "/system_stats")) == 1


def test_a_prompt_is_sent_only_once_its_event_was_flushed(mock_comfy, tmp_path):
    server = mock_comfy(latency=0.05)
    submitted, flushed, unsent_at_flush = 0, 0, []

    def on_event(name: str, payload: dict) -> None:
        nonlocal submitted
        submitted += name == "submitted"

    def flush() -> None:
        nonlocal flushed
        if submitted > flushed:  # prompts announced since the last flush: none may have reached the server
            unsent_at_flush.append((submitted - len(server.received_prompts), submitted - flushed))
            flushed = submitted

    with GpuQueue([server.url], timeout_s=30) as gpu:
        results = gpu.generate(product_jobs(0, 3), tmp_path, on_event=on_event, flush=flush)
    assert [r.ok for r in results] == [True] * 3
    assert sum(new for _, new in unsent_at_flush) == 3
    assert all(unsent >= new for unsent, new in unsent_at_flush)  # each prompt went out after its flush


def test_cancel_interrupts_every_run_and_leaves_no_prompt_of_ours_queued(mock_comfy, tmp_path):
    server = mock_comfy(latency=2.0)

    def product(index: int):
        return gpu.generate(product_jobs(index, 2), tmp_path / f"p{index}", on_event=lambda *_: None)

    with GpuQueue([server.url], timeout_s=30) as gpu:
        threads_done: list = []
        runner = threading.Thread(target=lambda: threads_done.append(in_threads(2, product)))
        runner.start()
        deadline = time.monotonic() + 30  # only stops a broken queue from hanging the suite
        while not (server.executions and server.executions[-1]["status"] == "running"):
            assert time.monotonic() < deadline, "no prompt started"
            time.sleep(0.02)
        gpu.cancel()
        runner.join(timeout=60)
    [(_, errors)] = threads_done
    assert len(errors) == 2 and all(isinstance(e, KeyboardInterrupt) for e in errors)
    queue = httpx.get(f"{server.url}/queue").json()
    assert queue["queue_running"] == [] and queue["queue_pending"] == []
    assert not any(e["status"] == "success" for e in server.executions)


def test_a_queue_with_no_reachable_server_fails_before_any_job(tmp_path):
    with GpuQueue(["http://127.0.0.1:9"], timeout_s=5) as gpu:
        with pytest.raises(Exception) as caught:
            gpu.reachable()
    assert "no ComfyUI server is reachable" in str(caught.value)
