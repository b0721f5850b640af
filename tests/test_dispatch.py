"""generate_all over several real servers on free ports (recorded-traffic replay and the mock)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image

from comfy_replay import png_bytes
from creative.gen.dispatch import (
    GenJob,
    _run_all,
    _Server,
    generate_all,
    pick_server,
)
from creative.gen.workflow import default_workflow_path, graph_sha256, load_workflow
from creative.core.errors import ComfyError

REPO = Path(__file__).resolve().parents[1]



def free_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def jobs(n: int, node: str = "4") -> list[GenJob]:
    return [GenJob(variant=i, graph={"1": {"seed": i}}, output_node=node, seed=i, filename=f"v{i:02d}.png")
            for i in range(1, n + 1)]


def run(jobs_, servers, out_dir, **kw):
    events: list[tuple[str, dict]] = []
    results = asyncio.run(generate_all(jobs_, servers, out_dir, timeout_s=kw.pop("timeout_s", 10),
                                       poll_interval_s=0.1,
                                       on_event=lambda n, d: events.append((n, d)), **kw))
    return results, events


def test_pick_least_busy():
    a, b, c = (_Server(url=u, client=None) for u in "abc")  # type: ignore[arg-type]
    a.busy, b.busy, c.busy = 2, 1, 1
    assert pick_server([a, b, c]) is b
    assert pick_server([a, b, c], exclude=b) is c
    c.up = False
    assert pick_server([a, b, c], exclude=b) is a
    assert pick_server([b], exclude=b) is b  # only one left: same server
    b.up = False
    assert pick_server([b]) is None


def assert_two_each_serial_and_concurrent(runs: list[list[tuple[float, float]]]) -> None:
    """Each server ran exactly two prompts, never two at once, and the servers overlapped."""
    assert [len(r) for r in runs] == [2] * len(runs), runs
    for (start1, end1), (start2, end2) in map(sorted, runs):
        assert end1 <= start2
    firsts = [min(r) for r in runs]
    # Some instant lies inside every server's first prompt: all servers worked at once.
    assert max(start for start, _ in firsts) < min(end for _, end in firsts)


def submit_to_last_image(results) -> float:
    """Seconds from the first submission to the last image written (one-time setup excluded)."""
    attempts = [a for r in results for a in r.attempts]
    return max(a.ended_at for a in attempts) - min(a.started_at for a in attempts)


def test_six_jobs_on_three_servers_take_two_image_times(replay, tmp_path):
    delay = 0.5
    servers = [replay(delay=delay) for _ in range(3)]
    out_dir = tmp_path / "backgrounds"
    results, events = run(jobs(6), [s.url for s in servers], out_dir)
    assert [r.variant for r in results] == [1, 2, 3, 4, 5, 6]
    assert all(r.ok for r in results)
    assert [len(s.posts) for s in servers] == [2, 2, 2]
    assert_two_each_serial_and_concurrent(
        [[(e["start"], e["end"]) for e in s.executions] for s in servers])
    for r in results:
        assert r.path == f"backgrounds/v{r.variant:02d}.png"
        assert (tmp_path / r.path).read_bytes() == servers[0].image
        assert r.graph_sha256 == graph_sha256({"1": {"seed": r.variant}})
        assert len(r.attempts) == 1 and r.attempts[0].outcome == "ok"
        posted = {p["body"]["prompt_id"] for s in servers for p in s.posts}
        assert r.attempts[0].prompt_id in posted
    assert not list(out_dir.glob("*.tmp"))  # atomic writes leave no temp files
    assert sorted(d["variant"] for n, d in events if n == "done") == [1, 2, 3, 4, 5, 6]


def test_down_server_is_skipped(replay, tmp_path, caplog):
    good = replay()
    dead = free_url()
    results, _ = run(jobs(2), [dead, good.url], tmp_path / "bg")
    assert all(r.ok for r in results)
    assert {a.server for r in results for a in r.attempts} == {good.url}
    assert f"skipping ComfyUI server {dead}" in caplog.text


def test_all_servers_down_names_each_url(tmp_path):
    urls = [free_url(), free_url()]
    with pytest.raises(ComfyError) as err:
        run(jobs(1), urls, tmp_path / "bg")
    msg = err.value.message
    assert msg.startswith("no ComfyUI server is reachable: ")
    for url in urls:
        assert f"{url} (ComfyUI at {url} is unreachable" in msg


def test_transient_failure_retried_once_on_another_server(replay, tmp_path):
    flaky = replay(fail_first=1)
    other = replay()
    results, events = run(jobs(1), [flaky.url, other.url], tmp_path / "bg")
    (r,) = results
    assert r.ok and r.error is None
    assert [(a.server, a.outcome) for a in r.attempts] == [(flaky.url, "error"),
                                                          (other.url, "ok")]
    assert "node 3 (SaveImage)" in r.attempts[0].error
    assert r.attempts[0].ended_at <= r.attempts[1].started_at
    assert ("retry", {"variant": 1, "server": other.url, "previous": flaky.url,
                      "error": r.attempts[0].error}) in events


def test_second_failure_gives_failed_result_not_exception(replay, tmp_path):
    bad = replay("exec_error")
    results, events = run(jobs(1), [bad.url], tmp_path / "bg")
    (r,) = results
    assert not r.ok and r.path is None
    assert len(r.attempts) == 2  # one retry, no more
    assert r.error == r.attempts[-1].error
    assert not (tmp_path / "bg" / "v01.png").exists()
    assert [n for n, _ in events].count("failed") == 1


def test_validation_error_is_never_retried(replay, tmp_path):
    bad = replay("validation")
    other = replay()
    (r,), _ = run(jobs(1), [bad.url, other.url], tmp_path / "bg")
    assert not r.ok and len(r.attempts) == 1
    assert "rejected the workflow" in r.error
    assert other.posts == []


async def until(condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def test_server_dying_mid_run_gets_its_jobs_moved(replay, tmp_path):
    dying = replay(delay=60)  # never finishes by itself: its jobs can only succeed elsewhere
    other = replay(delay=0.05)

    async def go():
        task = asyncio.create_task(generate_all(jobs(4), [dying.url, other.url],
                                                tmp_path / "bg", timeout_s=10,
                                                poll_interval_s=0.1))
        await until(lambda: len(dying.posts) == 2)  # jobs 1 and 3 were submitted there
        await asyncio.to_thread(dying.stop)  # connection refused from now on
        return await task

    results = asyncio.run(go())
    assert all(r.ok for r in results), [r.error for r in results]
    assert [[a.server for a in r.attempts] for r in results] == [
        [dying.url, other.url], [other.url], [dying.url, other.url], [other.url]]
    assert [r.attempts[0].outcome for r in results] == ["error", "ok", "error", "ok"]
    assert len(other.posts) == 4


def test_cache_hit_reuses_background_without_submitting(replay, tmp_path):
    server = replay()
    cache = tmp_path / "cache"
    run(jobs(1), [server.url], tmp_path / "run1" / "bg", cache_dir=cache)
    assert len(server.posts) == 1
    (r,), _ = run(jobs(1), [server.url], tmp_path / "run2" / "bg", cache_dir=cache)
    assert r.ok and r.cached and r.attempts == []
    assert len(server.posts) == 1
    assert (tmp_path / "run2" / "bg" / "v01.png").read_bytes() == server.image


def test_non_png_output_is_stored_as_png(replay, tmp_path):
    import io
    buf = io.BytesIO()
    Image.new("RGB", (32, 16), (10, 200, 30)).save(buf, format="JPEG")
    server = replay(image=buf.getvalue())
    (r,), _ = run(jobs(1), [server.url], tmp_path / "bg")
    with Image.open(tmp_path / r.path) as img:
        assert img.format == "PNG" and img.size == (32, 16)
        assert img.getpixel((16, 8))[1] > 150


# --- against the project's mock server ---------------------------------------------------------


@pytest.fixture
def mock(request):
    pytest.importorskip("creative.mock.comfy", reason="mock server not written yet")
    return request.getfixturevalue("mock_comfy")


def sdxl_jobs(n: int) -> list[GenJob]:
    wf = load_workflow(default_workflow_path(REPO / "templates"))
    return [GenJob(variant=i, graph=wf.apply(f"scene {i}", "text", 100 + i, 128, 128),
                   output_node=wf.output_node, seed=100 + i, filename=f"v{i:02d}.png") for i in range(1, n + 1)]


def test_mock_six_jobs_three_servers_two_image_times(mock, tmp_path):
    latency = 0.5
    servers = [mock(latency=latency) for _ in range(3)]
    results, _ = run(sdxl_jobs(6), [s.url for s in servers], tmp_path / "backgrounds")
    assert all(r.ok for r in results), [r.error for r in results]
    assert_two_each_serial_and_concurrent(
        [[(e["execution_start"], e["execution_end"]) for e in s.executions] for s in servers])
    for r in results:
        with Image.open(tmp_path / r.path) as img:
            assert img.size == (128, 128)


def test_mock_transient_failure_recorded_as_two_attempts(mock, tmp_path):
    flaky, other = mock(fail_first=1), mock()
    (r,), _ = run(sdxl_jobs(1), [flaky.url, other.url], tmp_path / "bg")
    assert r.ok and [a.outcome for a in r.attempts] == ["error", "ok"]
    assert [a.server for a in r.attempts] == [flaky.url, other.url]


def test_png_helper():
    assert png_bytes().startswith(b"\x89PNG")


# --- models, hostile answers, interrupts and cancellation ---------------------------------------


def test_jobs_go_only_to_servers_that_have_the_checkpoint(mock, tmp_path, caplog):
    lacking = mock(checkpoints=["juggernaut.safetensors"])
    having = mock()  # has sd_xl_base_1.0.safetensors
    results, _ = run(sdxl_jobs(3), [lacking.url, having.url], tmp_path / "bg")
    assert all(r.ok for r in results), [r.error for r in results]
    assert {a.server for r in results for a in r.attempts} == {having.url}
    assert lacking.received_prompts == [] and len(having.received_prompts) == 3
    # /object_info once per server per run, not once per job
    for server in (lacking, having):
        assert server.requests.count(("GET", "/object_info/CheckpointLoaderSimple")) == 1
    assert (f"ComfyUI at {lacking.url} does not have a model the workflow needs" in caplog.text
            and f"its jobs go to {having.url}" in caplog.text)


def test_no_server_has_the_checkpoint_fails_every_job_before_posting(mock, tmp_path):
    a = mock(checkpoints=["juggernaut.safetensors"])
    b = mock(checkpoints=["dream.safetensors", "other.safetensors"])
    results, events = run(sdxl_jobs(2), [a.url, b.url], tmp_path / "bg")
    assert a.received_prompts == [] and b.received_prompts == []
    for r in results:
        assert not r.ok and r.attempts == [] and r.path is None
        assert r.error == (
            "no ComfyUI server has the model the workflow needs: "
            f"ComfyUI at {a.url} does not have a model the workflow needs: node 4 "
            "(CheckpointLoaderSimple): ckpt_name 'sd_xl_base_1.0.safetensors' is not installed "
            "(available: juggernaut.safetensors); "
            f"ComfyUI at {b.url} does not have a model the workflow needs: node 4 "
            "(CheckpointLoaderSimple): ckpt_name 'sd_xl_base_1.0.safetensors' is not installed "
            "(available: dream.safetensors, other.safetensors)")
    assert sorted(d["variant"] for n, d in events if n == "failed") == [1, 2]


def test_hostile_names_from_server_never_leave_the_run_folder(replay, tmp_path, monkeypatch):
    hostile = {"filename": "../../../evil.png", "subfolder": "../../..", "type": "../output"}
    server = replay(rename=hostile)
    work = tmp_path / "a" / "b" / "c"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)  # a relative "../../../evil.png" would land in tmp_path
    out_dir = work / "run" / "backgrounds"
    (r,), _ = run(jobs(1), [server.url], out_dir)
    assert r.ok
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert files == ["a/b/c/run/backgrounds/v01.png"]
    # The names only ever travelled to the server as query parameters of /view.
    assert server.view_paths == ["/view", "/view"]
    assert server.views == [hostile, hostile]


def test_download_that_is_not_an_image_fails_that_variant(replay, tmp_path):
    server = replay(image=b"<html>Sign in</html>")
    (r,), events = run(jobs(1), [server.url], tmp_path / "bg")
    assert not r.ok and "is not a readable image" in r.error
    assert not (tmp_path / "bg" / "v01.png").exists()
    assert [n for n, _ in events].count("failed") == 1


def test_interrupt_by_someone_else_fails_the_variant_without_retry(mock, tmp_path):
    busy, spare = mock(hang=True), mock()

    def someone_presses_cancel() -> None:
        deadline = time.monotonic() + 15
        while not busy.executions and time.monotonic() < deadline:
            time.sleep(0.02)
        httpx.post(busy.url + "/interrupt")

    threading.Thread(target=someone_presses_cancel, daemon=True).start()
    (r,), _ = run(sdxl_jobs(1), [busy.url, spare.url], tmp_path / "bg")
    assert not r.ok and "was interrupted on the server" in r.error
    assert [(a.server, a.outcome) for a in r.attempts] == [(busy.url, "cancelled")]
    assert spare.received_prompts == []


def test_cancelling_the_run_removes_our_prompts_and_only_ours(mock, tmp_path):
    servers = [mock(hang=True), mock(hang=True)]
    graph = sdxl_jobs(5)[-1].graph  # a seed none of our four jobs uses

    async def go() -> list[str]:
        task = asyncio.create_task(generate_all(sdxl_jobs(4), [s.url for s in servers],
                                                tmp_path / "bg", timeout_s=30,
                                                poll_interval_s=0.1))
        # Each server: one of ours running (hung), one of ours pending.
        await until(lambda: all(len(s.received_prompts) == 2 and s.executions
                                for s in servers))
        bystanders = []
        async with httpx.AsyncClient() as http:
            for s in servers:
                answer = await http.post(s.url + "/prompt",
                                         json={"prompt": graph, "client_id": "bystander"})
                bystanders.append(answer.json()["prompt_id"])
        task.cancel()  # what asyncio.run does on Ctrl-C
        with pytest.raises(asyncio.CancelledError):
            await task
        return bystanders

    bystanders = asyncio.run(go())
    for server, bystander in zip(servers, bystanders):
        ours = {p["prompt_id"] for p in server.received_prompts if "prompt_id" in p}
        # Done before the cancellation propagated: deleted and interrupted, by id.
        queue = httpx.get(server.url + "/queue").json()
        assert not ours & {item[1] for item in queue["queue_pending"]}
        assert ("POST", "/interrupt") in server.requests
        deadline = time.monotonic() + 15  # the server stops the running node asynchronously
        while queue["queue_running"] and queue["queue_running"][0][1] in ours:
            assert time.monotonic() < deadline, queue
            time.sleep(0.02)
            queue = httpx.get(server.url + "/queue").json()
        assert [item[1] for item in queue["queue_running"] + queue["queue_pending"]] == [
            bystander]
        # Our pending prompt was deleted before our running one was interrupted, so the
        # server went straight from ours to the bystander's.
        assert [(e["prompt_id"], e["status"]) for e in server.executions] == [
            (server.received_prompts[0]["prompt_id"], "interrupted"), (bystander, "running")]
        assert len(ours) == 2 and len(server.received_prompts) == 3  # no retry after cancel


def test_cancel_propagates_only_after_every_job_has_cleaned_up():
    cleaned: list[str] = []

    async def job(name: str, cleanup_s: float) -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            await asyncio.shield(asyncio.sleep(cleanup_s))  # like cancelling prompts over HTTP
            cleaned.append(name)
            raise

    async def go() -> list[str]:
        task = asyncio.create_task(_run_all([job("quick", 0.0), job("slow", 0.2)]))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return list(cleaned)  # what had finished when the cancellation reached us

    # Plain gather() would propagate as soon as "quick" is done, with "slow" still cleaning up.
    assert asyncio.run(go()) == ["quick", "slow"]


def test_prompts_in_flight_per_server_are_bounded(mock, tmp_path):
    from creative.gen.dispatch import MAX_IN_FLIGHT_PER_SERVER

    servers = [mock(latency=0.05) for _ in range(2)]
    count = 2 * MAX_IN_FLIGHT_PER_SERVER + 6
    results, events = run(sdxl_jobs(count), [s.url for s in servers], tmp_path / "backgrounds")
    assert all(r.ok for r in results), [r.error for r in results]
    in_flight = {s.url: 0 for s in servers}
    peak = dict(in_flight)
    for name, data in events:  # events arrive in the order dispatch saw them
        if name == "submitted":
            in_flight[data["server"]] += 1
            peak[data["server"]] = max(peak[data["server"]], in_flight[data["server"]])
        elif name == "done":
            in_flight[data["server"]] -= 1
    assert peak == {s.url: MAX_IN_FLIGHT_PER_SERVER for s in servers}  # filled, never exceeded
    assert sum(len(s.received_prompts) for s in servers) == count


def test_six_jobs_on_one_server_are_all_in_flight_together(mock, tmp_path):
    server = mock(latency=0.2)
    results, events = run(sdxl_jobs(6), [server.url], tmp_path / "backgrounds")
    assert all(r.ok for r in results)
    first_done = next(i for i, (name, _) in enumerate(events) if name == "done")
    assert [name for name, _ in events[:first_done]].count("submitted") == 6


# --- polling: one shared /queue snapshot per interval ------------------------------------------


def recording_http(log: list[tuple[float, str, str]]) -> httpx.AsyncClient:
    """An HTTP client that notes (time.monotonic(), method, path) of every request it sends."""
    async def note(request: httpx.Request) -> None:
        log.append((time.monotonic(), request.method, request.url.path))

    return httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=5.0), event_hooks={"request": [note]})


def test_jobs_on_one_server_share_one_queue_snapshot_per_poll_interval(replay, tmp_path):
    # "silent": no frames at all, so all 8 prompts are followed by polling alone; the server
    # runs them one at a time, so 7 of them wait as pending while the first one runs.
    interval, delay = 0.1, 0.2
    server = replay("silent", delay=delay)
    log: list[tuple[float, str, str]] = []

    async def go():
        async with recording_http(log) as http:
            return await generate_all(jobs(8), [server.url], tmp_path / "bg", timeout_s=20,
                                      poll_interval_s=interval, http=http)

    results = asyncio.run(go())
    assert all(r.ok for r in results), [r.error for r in results]
    queue_gets = [t for t, method, path in log if (method, path) == ("GET", "/queue")]
    history_gets = [t for t, method, path in log if method == "GET" and path.startswith("/history/")]
    polling = history_gets[-1] - history_gets[0]
    assert polling > 5 * delay  # the prompts really were followed by polling for the whole run
    # 7 or 8 prompts poll together (they were submitted together), and each looks at the queue
    # when its /history is empty, yet they fetch it once between them: no bursts of /queue
    close = [round(b - a, 3) for a, b in zip(queue_gets, queue_gets[1:]) if b - a < interval / 2]
    assert len(close) <= 1, close  # (one allowed for scheduling jitter on a busy runner)
    assert len(queue_gets) <= polling / interval + 2, (len(queue_gets), polling)  # ~1 per interval at most
    assert len(history_gets) > 2 * len(queue_gets)  # the saving is real
