"""The RunPod serverless backend against the mock endpoint (mock/runpod.py) on free ports."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from typer.testing import CliRunner

from cli_helpers import EXAMPLE_PAGE, closed_port
from creative.cli import app
from creative.core.errors import ComfyError
from creative.gen.backends import Backend
from creative.gen.dispatch import GenJob, generate_all
from creative.gen.runpod import RunPodClient
from creative.gen.workflow import default_workflow_path, graph_sha256, load_workflow
from creative.mock.runpod import TEST_KEY, MockRunPodServer, RunPodOptions

REPO = Path(__file__).resolve().parents[1]
SECRET = "rp-secret-7f3a9c"  # a key distinctive enough to search for


@pytest.fixture
def runpod() -> Iterator[Callable[..., MockRunPodServer]]:
    """Factory: `server = runpod(workers=2, ...)` (RunPodOptions fields) -> started mock endpoint."""
    servers: list[MockRunPodServer] = []

    def start(**options: object) -> MockRunPodServer:
        servers.append(MockRunPodServer(RunPodOptions(**options)).start())
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def graphs(n: int, size: int = 64) -> list[GenJob]:
    wf = load_workflow(default_workflow_path(REPO / "templates"))
    return [GenJob(variant=i, graph=wf.apply(f"scene {i}", "text", 100 + i, size, size), output_node=wf.output_node,
                   seed=100 + i, filename=f"v{i:02d}.png") for i in range(1, n + 1)]


def backend(server: MockRunPodServer, **kw: object) -> Backend:
    return Backend(kind="runpod", url=server.url, endpoint_id=kw.pop("endpoint_id", server.options.endpoint_id),
                   api_key_env=kw.pop("api_key_env", "TEST_RUNPOD_KEY"), **kw)  # type: ignore[arg-type]


async def one_run(server: MockRunPodServer, *, key: str = TEST_KEY, endpoint: str | None = None,
                  timeout_s: float = 20.0):
    job = graphs(1)[0]
    client = RunPodClient(endpoint or server.options.endpoint_id, api_key=key, base_url=server.url,
                          timeout_s=timeout_s, poll_interval_s=0.02)
    try:
        return await client.run(job.graph, job.output_node)
    finally:
        await client.aclose()


def run_error(server: MockRunPodServer, **kw: object) -> ComfyError:
    with pytest.raises(ComfyError) as info:
        asyncio.run(one_run(server, **kw))  # type: ignore[arg-type]
    return info.value


def is_png(data: bytes, size: int = 64) -> bool:
    with Image.open(io.BytesIO(data)) as img:
        return img.format == "PNG" and img.size == (size, size)


# --- the serverless API, status by status ------------------------------------------------------


def test_job_goes_through_queue_and_progress_to_completed(runpod):
    server = runpod(cold_start=0.3, latency=0.3)
    job = graphs(1)[0]
    headers = {"Authorization": f"Bearer {TEST_KEY}"}
    base = f"{server.url}/v2/{server.options.endpoint_id}"
    job_id = httpx.post(f"{base}/run", json={"input": {"workflow": job.graph}}, headers=headers).json()["id"]
    seen: list[str] = []
    deadline = time.monotonic() + 20
    while not seen or seen[-1] not in ("COMPLETED", "FAILED"):
        assert time.monotonic() < deadline, seen
        status = httpx.get(f"{base}/status/{job_id}", headers=headers).json()
        if not seen or seen[-1] != status["status"]:
            seen.append(status["status"])
        time.sleep(0.02)
    assert seen == ["IN_QUEUE", "IN_PROGRESS", "COMPLETED"]
    assert status["delayTime"] >= 300 and status["executionTime"] > 0  # the cold start is in delayTime
    [image] = status["output"]["images"]
    assert image["type"] == "base64" and image["filename"]


def test_completed_job_returns_its_image_and_timings(runpod):
    server = runpod(cold_start=0.2)
    out = asyncio.run(one_run(server))
    assert is_png(out.images[0])
    assert out.server == f"{server.url}/v2/{server.options.endpoint_id}"
    assert out.delay_seconds is not None and out.delay_seconds >= 0.2
    assert out.gpu_seconds is not None and out.gpu_seconds >= 0


def test_cold_start_is_billed_on_gpu_hour_price(runpod):
    server = runpod(cold_start=0.2)
    out = asyncio.run(one_run(server))
    hourly = Backend(kind="runpod", endpoint_id="e", usd_per_gpu_hour=3600.0)  # $1 per GPU second
    assert hourly.cost(out) == pytest.approx(out.gpu_seconds + out.delay_seconds, abs=1e-6)
    not_billed = Backend(kind="runpod", endpoint_id="e", usd_per_gpu_hour=3600.0, bill_cold_start=False)
    assert not_billed.cost(out) == pytest.approx(out.gpu_seconds, abs=1e-6)
    assert hourly.cost(out) - not_billed.cost(out) >= 0.2


def test_s3_url_images_are_downloaded_without_the_key(runpod):
    server = runpod(s3=True)
    out = asyncio.run(one_run(server))
    assert is_png(out.images[0])
    assert list(server.state.s3.values()) == [out.images[0]]


def test_failed_job_gives_error_and_details(runpod):
    server = runpod(fail_first=1)
    err = run_error(server)
    assert getattr(err, "kind") == "error" and getattr(err, "transient") is True
    assert "failed" in err.message and "mock failure" in err.message
    assert "Node 3 (KSampler)" in err.message  # worker-comfyui's details


def test_job_cancelled_by_someone_else_is_not_retried(runpod):
    server = runpod(latency=5.0)

    async def go() -> ComfyError:
        task = asyncio.create_task(one_run(server))
        while not server.state.jobs or next(iter(server.state.jobs.values())).status != "IN_PROGRESS":
            await asyncio.sleep(0.02)
        job_id = next(iter(server.state.jobs))
        async with httpx.AsyncClient() as http:
            await http.post(f"{server.url}/v2/{server.options.endpoint_id}/cancel/{job_id}",
                            headers={"Authorization": f"Bearer {TEST_KEY}"})
        with pytest.raises(ComfyError) as info:
            await task
        return info.value

    err = asyncio.run(go())
    assert getattr(err, "kind") == "cancelled" and getattr(err, "transient") is False
    assert "cancelled" in err.message


def test_timed_out_job_is_a_timeout(runpod):
    server = runpod(latency=5.0, execution_timeout=0.2)
    err = run_error(server)
    assert getattr(err, "kind") == "timeout" and "timed_out" in err.message
    assert "execution timeout" in err.message


def test_401_names_what_to_fix_without_the_key(runpod):
    server = runpod(api_key="the-right-key")
    err = run_error(server, key=SECRET)
    assert "401" in err.message and "API key was refused" in err.message
    assert "api_key_env" in (err.hint or "")
    assert SECRET not in err.message + (err.hint or "")


def test_404_names_the_endpoint(runpod):
    server = runpod()
    err = run_error(server, endpoint="no-such-endpoint")
    assert "404" in err.message and "no-such-endpoint" in err.message
    assert "endpoint_id" in (err.hint or "")


def test_429_is_backed_off_and_retried(runpod):
    server = runpod(rate_limit_every=2)
    out = asyncio.run(one_run(server))
    assert is_png(out.images[0])
    assert server.state.rate_limited >= 1  # a request was refused with 429, and retried


# --- through dispatch ----------------------------------------------------------------------------


def dispatch(jobs: list[GenJob], servers: list, out_dir: Path, **kw: object):
    events: list[tuple[str, dict]] = []
    results = asyncio.run(generate_all(jobs, servers, out_dir, timeout_s=20, poll_interval_s=0.05,
                                       on_event=lambda n, d: events.append((n, d)), **kw))  # type: ignore[arg-type]
    return results, events


def test_a_run_mixes_comfyui_servers_and_runpod_endpoints(runpod, mock_comfy, tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_RUNPOD_KEY", TEST_KEY)
    endpoint, comfy = runpod(workers=2, latency=0.2), mock_comfy(latency=0.2)
    priced = backend(endpoint, usd_per_gpu_hour=3600.0)
    results, events = dispatch(graphs(6), [comfy.url, priced], tmp_path / "bg")
    assert all(r.ok for r in results), [r.error for r in results]
    used = {r.attempts[-1].server for r in results}
    assert used == {comfy.url, priced.name}
    on_runpod = [r.attempts[-1] for r in results if r.attempts[-1].server == priced.name]
    assert len(on_runpod) == endpoint.state.executed
    for attempt in on_runpod:  # the runlog's record: the endpoint's own job id, billed on measured time
        assert attempt.prompt_id in endpoint.state.jobs and attempt.billed
        # $1 per GPU second: the execution time, plus the delay before it (billed as cold start by default).
        assert attempt.gpu_seconds is not None and attempt.gpu_seconds <= attempt.cost_usd < 30
    queued = [d for n, d in events if n == "queued"]
    assert {d["prompt_id"] for d in queued} == {a.prompt_id for a in on_runpod}
    for r in results:
        assert is_png((tmp_path / r.path).read_bytes())


def test_transient_failure_on_runpod_is_retried_once_elsewhere(runpod, mock_comfy, tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_RUNPOD_KEY", TEST_KEY)
    endpoint, comfy = runpod(fail_first=1), mock_comfy()
    (result,), events = dispatch(graphs(1), [backend(endpoint), comfy.url], tmp_path / "bg")
    assert result.ok and [a.outcome for a in result.attempts] == ["error", "ok"]
    assert [a.server for a in result.attempts] == [backend(endpoint).name, comfy.url]
    assert "mock failure" in result.attempts[0].error
    assert [n for n, _ in events].count("retry") == 1


def test_graph_hash_cache_serves_a_second_run_without_a_job(runpod, tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_RUNPOD_KEY", TEST_KEY)
    endpoint = runpod()
    jobs, cache = graphs(2), tmp_path / "cache"
    first, _ = dispatch(jobs, [backend(endpoint)], tmp_path / "a", cache_dir=cache)
    assert all(r.ok and not r.cached for r in first)
    submitted = len(endpoint.state.jobs)
    second, _ = dispatch(jobs, [backend(endpoint)], tmp_path / "b", cache_dir=cache)
    assert all(r.ok and r.cached and not r.attempts for r in second)
    assert len(endpoint.state.jobs) == submitted == 2
    for job in jobs:
        assert (cache / f"{graph_sha256(job.graph)}.png").read_bytes() == (tmp_path / "b" / job.filename).read_bytes()


def test_ctrl_c_cancels_our_jobs_and_only_ours(runpod, tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_RUNPOD_KEY", TEST_KEY)
    endpoint = runpod(workers=1, latency=10.0)
    headers = {"Authorization": f"Bearer {TEST_KEY}"}
    bystander_graph = graphs(5)[-1].graph

    async def go() -> str:
        task = asyncio.create_task(generate_all(graphs(3), [backend(endpoint)], tmp_path / "bg", timeout_s=30,
                                                poll_interval_s=0.05))
        while len(endpoint.state.jobs) < 3 or "IN_PROGRESS" not in {j.status for j in endpoint.state.jobs.values()}:
            await asyncio.sleep(0.02)
        async with httpx.AsyncClient() as http:
            answer = await http.post(f"{endpoint.url}/v2/{endpoint.options.endpoint_id}/run", headers=headers,
                                     json={"input": {"workflow": bystander_graph}})
        task.cancel()  # what asyncio.run does on Ctrl-C
        with pytest.raises(asyncio.CancelledError):
            await task
        return answer.json()["id"]

    bystander = asyncio.run(go())
    states = {job_id: job.status for job_id, job in endpoint.state.jobs.items()}
    assert states.pop(bystander) in ("IN_QUEUE", "IN_PROGRESS")
    assert list(states.values()) == ["CANCELLED"] * 3
    assert endpoint.state.executed == 0


# --- whole runs through the CLI ------------------------------------------------------------------


def write_config(tmp_path: Path, *backends: dict, extra: str = "") -> None:
    config = {"comfyui": {"backends": list(backends)}}
    (tmp_path / "creative.yaml").write_text(json.dumps(config) + "\n" + extra)  # JSON is YAML


def cli_run(tmp_path: Path, monkeypatch, *extra: str):
    monkeypatch.chdir(tmp_path)
    return CliRunner().invoke(app, ["run", "--url", str(EXAMPLE_PAGE), "--channel", "meta_static", "--offer",
                                    "Buy 2 get 1", "--runs-dir", "runs", "-q", *extra])


def ledger_text(tmp_path: Path) -> str:
    path = tmp_path / "runs" / "budget.jsonl"
    return path.read_text() if path.exists() else ""


def test_run_on_runpod_records_jobs_and_never_writes_the_key(runpod, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    endpoint = runpod(workers=3, api_key=SECRET, s3=True, latency=0.05)
    monkeypatch.setenv("RUNPOD_API_KEY", SECRET)
    write_config(tmp_path, {"type": "runpod", "endpoint_id": endpoint.options.endpoint_id, "base_url": endpoint.url,
                            "usd_per_gpu_hour": 3.6})
    result = cli_run(tmp_path, monkeypatch)
    assert result.exit_code == 0, result.output
    run_dir = Path(result.stdout.strip().splitlines()[-1])
    runlog = json.loads((run_dir / "runlog.json").read_text())
    name = f"{endpoint.url}/v2/{endpoint.options.endpoint_id}"
    assert len(runlog["variants"]) == 6 and endpoint.state.executed == 6
    for variant in runlog["variants"]:
        [attempt] = variant["attempts"]
        assert attempt["server"] == name and attempt["prompt_id"] in endpoint.state.jobs
        assert attempt["billed"] and attempt["outcome"] == "ok"
        assert attempt["gpu_seconds"] > 0 and attempt["cost_usd"] >= attempt["gpu_seconds"] * 0.001 - 1e-6
    leaks = [str(p) for p in tmp_path.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]
    assert leaks == [], leaks
    assert SECRET not in result.output and SECRET not in caplog.text


def test_refused_key_fails_before_anything_is_reserved(runpod, tmp_path, monkeypatch):
    endpoint = runpod(api_key="the-right-key")
    monkeypatch.setenv("RUNPOD_API_KEY", SECRET)
    write_config(tmp_path, {"type": "runpod", "endpoint_id": endpoint.options.endpoint_id, "base_url": endpoint.url})
    result = cli_run(tmp_path, monkeypatch)
    assert result.exit_code == 1 and result.stderr.startswith("error: "), result.output
    assert "API key was refused (401)" in result.stderr and SECRET not in result.output
    assert "reserve" not in ledger_text(tmp_path)
    assert endpoint.state.jobs == {}


def test_endpoint_down_or_key_unset_fails_before_anything_is_reserved(tmp_path, monkeypatch):
    monkeypatch.delenv("RUNPOD_API_KEY", raising=False)
    down = {"type": "runpod", "endpoint_id": "abc", "base_url": f"http://127.0.0.1:{closed_port()}"}
    monkeypatch.setenv("OTHER_KEY", "k")
    write_config(tmp_path, {**down, "api_key_env": "OTHER_KEY"}, {**down, "endpoint_id": "def"})
    result = cli_run(tmp_path, monkeypatch)
    assert result.exit_code == 1 and result.stderr.startswith("error: "), result.output
    message = result.stderr
    assert "no ComfyUI server is reachable" in message
    assert "abc unreachable" in message and "RUNPOD_API_KEY" in message  # the second has no key
    assert "reserve" not in ledger_text(tmp_path)


def test_mock_runpod_command_passes_its_options(monkeypatch):
    served: list[tuple] = []
    monkeypatch.setattr("creative.mock.runpod.serve", lambda host, port, options: served.append((host, port, options)))
    result = CliRunner().invoke(app, ["mock-runpod", "--port", "9123", "--workers", "3", "--cold-start", "1.5",
                                      "--latency", "0.2", "--api-key", "k", "--fail-first", "2",
                                      "--rate-limit-every", "5", "--s3"])
    assert result.exit_code == 0, result.output
    [(host, port, options)] = served
    assert (host, port) == ("127.0.0.1", 9123)
    assert options == RunPodOptions(api_key="k", workers=3, latency=0.2, cold_start=1.5, fail_first=2,
                                    rate_limit_every=5, s3=True)
    bad = CliRunner().invoke(app, ["mock-runpod", "--workers", "0"])
    assert bad.exit_code == 2 and served == [(host, port, options)]
