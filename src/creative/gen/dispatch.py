"""Spread generation jobs over several ComfyUI servers, retry once, write vNN.png files.

Jobs are submitted at once, each to the least busy server, up to MAX_IN_FLIGHT_PER_SERVER of
ours queued per server (the rest wait for a slot, so memory, polling and what Ctrl-C must
cancel stay bounded however many variants there are); a ComfyUI server runs one prompt at a
time from its own queue, so N jobs on S servers take about N/S image-times.

Before anything is submitted, each server's /object_info for the model loaders the graphs use
is fetched once: a job only goes to servers that have its checkpoint, and when no server has
it the job fails at once with the names asked for and offered (nothing is POSTed). Cancelling
the task that runs generate_all (Ctrl-C) interrupts or deletes our prompts, and only ours,
on every server before the cancellation propagates (see ComfyClient.run).
"""

from __future__ import annotations

import asyncio
import inspect
import io
import logging
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import httpx
from PIL import Image

from creative.core.atomic import write_atomic
from creative.gen.backends import Backend, Client, as_backend, make_client
from creative.gen.client import is_transient, new_http_client
from creative.gen.workflow import graph_sha256, model_loader_classes
from creative.core.errors import ComfyError, ComfyValidationError
from creative.core.models import Attempt, GenerationResult

log = logging.getLogger(__name__)

EventFn = Callable[[str, dict], object]  # may return an awaitable: see _acknowledged
# Our prompts queued or running on one server at a time: six variants on one server all go at once.
MAX_IN_FLIGHT_PER_SERVER = 8
CLEANUP_GRACE_S = 10.0
KEEP_IF_MADE_S = 3.0  # how long a cancelled job looks for an image the server finished anyway  # time the jobs get to cancel their prompts before being cut short


@dataclass
class GenJob:
    """One variant to generate: a final graph (prompts, seed and size already applied)."""

    variant: int
    graph: dict
    output_node: str
    seed: int
    filename: str  # written into generate_all's out_dir


@dataclass
class _Server:
    url: str
    client: Client
    backend: Backend = field(default_factory=Backend)
    busy: int = 0  # our prompts queued or running there
    up: bool = True
    done: int = field(default=0)


def pick_server(pool: list[_Server], exclude: _Server | None = None) -> _Server | None:
    """Least busy server that is up, preferring any other than `exclude`; ties keep order."""
    alive = [s for s in pool if s.up]
    others = [s for s in alive if s is not exclude]
    candidates = others or alive
    return min(candidates, key=lambda s: s.busy) if candidates else None


def as_png(data: bytes) -> bytes:
    """The image as PNG bytes: unchanged when it already is one (keeps ComfyUI's metadata)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return data
    with Image.open(io.BytesIO(data)) as img:
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        return buf.getvalue()


def _billed(attempts: list[Attempt]) -> float:
    return round(sum(a.cost_usd for a in attempts if a.billed), 6)


def _emit(on_event: EventFn | None, name: str, payload: dict) -> object:
    """Call the event callback; what it returns may be awaited (see _acknowledged)."""
    if on_event is None:
        return None
    try:
        return on_event(name, payload)
    except Exception:  # a progress display must never break generation
        log.exception("on_event callback failed for %s", name)
        return None


async def _acknowledged(answer: object) -> None:
    """Wait for a callback that handles its event elsewhere (another thread) to be done with it."""
    if inspect.isawaitable(answer):
        try:
            await answer
        except Exception:
            log.exception("on_event callback failed")


async def check_servers(clients: list[Client]) -> tuple[list[Client], list[str]]:
    """Check every server at once: (usable clients, ["url (why)" for each one down])."""
    answers = await asyncio.gather(*(c.check() for c in clients), return_exceptions=True)
    up, down = [], []
    for client, answer in zip(clients, answers):
        if isinstance(answer, BaseException):
            why = answer.message if isinstance(answer, ComfyError) else repr(answer)
            log.warning("skipping ComfyUI server %s: %s", client.base_url, why)
            down.append(f"{client.base_url} ({why})")
        else:
            up.append(client)
    return up, down


def _none_reachable(down: list[str]) -> ComfyError:
    return ComfyError("no ComfyUI server is reachable: " + "; ".join(down),
                      hint="start ComfyUI, pass --comfy-url URL, set comfyui.urls or comfyui.backends in "
                           "creative.yaml, or run `creative mock-comfy` for a trial")


async def require_reachable(servers: list[str | Backend], *, timeout_s: float = 30.0) -> list[Backend]:
    """Ask every backend whether it can work (ComfyUI /system_stats, RunPod /health) before anything is
    spent: raise when none can (a missing API key, a refused key, an unknown endpoint, a server down);
    otherwise the ones that can, priced as they will bill (the bundled mock free unless priced)."""
    made: list[tuple[Client, Backend]] = []
    down: list[str] = []
    backends = [as_backend(s) for s in servers]
    async with new_http_client([b.name for b in backends]) as http:
        try:
            for backend in backends:
                try:
                    made.append((make_client(backend, http=http, timeout_s=timeout_s, poll_interval_s=1.0), backend))
                except ComfyError as exc:
                    down.append(f"{backend.name} ({exc.message})")
            up, unreachable = await check_servers([client for client, _ in made])
        finally:
            await asyncio.gather(*(client.aclose() for client, _ in made))
    if not up:
        raise _none_reachable(down + unreachable)
    usable = set(map(id, up))
    return [backend.priced_for(client) for client, backend in made if id(client) in usable]


@dataclass
class _Plan:
    """Where one job may run: servers with its models, or why it cannot run anywhere."""

    servers: list[_Server]
    refusal: str | None = None


async def _prefetch_models(server: _Server, classes: list[str]) -> bool:
    try:
        await server.client.node_info(classes)
        return True
    except ComfyError as exc:
        # Not knowing is not a reason to skip a server: its 400 would still tell.
        log.warning("could not read /object_info from %s (%s); not checking its models",
                    server.url, exc.message)
        return False


async def plan_models(jobs: list[GenJob], pool: list[_Server]) -> list[_Plan]:
    """One plan per job: the servers that have every model the job's graph loads."""
    classes = sorted({c for job in jobs for c in model_loader_classes(job.graph)})
    if not classes:
        return [_Plan(list(pool)) for _ in jobs]
    known = await asyncio.gather(*(_prefetch_models(s, classes) for s in pool))
    checked = [s for s, ok in zip(pool, known) if ok]
    logged: set[str] = set()
    plans: list[_Plan] = []
    for job in jobs:
        servers = [s for s in pool if s not in checked]
        refusals: list[ComfyValidationError] = []
        for server in checked:
            try:
                await server.client.check_models(job.graph)  # answered from the prefetch
                servers.append(server)
            except ComfyValidationError as exc:
                refusals.append(exc)
        servers.sort(key=pool.index)  # keep the configured order for ties
        plans.append(_plan(servers, refusals, logged))
    return plans


def _plan(servers: list[_Server], refusals: list[ComfyValidationError],
          logged: set[str]) -> _Plan:
    if not servers:
        return _Plan([], "no ComfyUI server has the model the workflow needs: "
                     + "; ".join(e.message for e in refusals))
    for exc in refusals:
        if exc.message not in logged:
            logged.add(exc.message)
            log.warning("%s; its jobs go to %s", exc.message, ", ".join(s.url for s in servers))
    return _Plan(servers)


async def generate_all(jobs: list[GenJob], servers: list[str | Backend], out_dir: Path, *,
                       timeout_s: float = 600.0, http: httpx.AsyncClient | None = None,
                       on_event: EventFn | None = None, cache_dir: Path | None = None,
                       poll_interval_s: float = 1.0,
                       clock: Callable[[], float] = time.time) -> list[GenerationResult]:
    """Generate every job's background into `out_dir/<job.filename>`; one result per job, in order.

    `servers`: ComfyUI URLs or backends (ComfyUI servers and RunPod endpoints, mixed freely).
    Raises ComfyError only when no backend is reachable; a failed job is a result with
    ok=False. With `cache_dir`, a graph generated before (same graph_sha256) is copied from
    `cache_dir/<sha>.png` at no cost, and new images are stored there.
    """
    async with Dispatcher(servers, timeout_s=timeout_s, http=http, poll_interval_s=poll_interval_s,
                          clock=clock) as dispatcher:
        return await dispatcher.run(jobs, out_dir, on_event=on_event, cache_dir=cache_dir)


class Dispatcher:
    """One set of backends for every job given to it, however many runs the jobs come from.

    A batch gives every product's jobs to one Dispatcher: the per-server limit of our prompts
    in flight, the servers found down and the models each one has are shared, so the GPUs see
    one queue. The servers are checked once, at the first job that needs them.
    """

    def __init__(self, servers: list[str | Backend], *, timeout_s: float = 600.0,
                 http: httpx.AsyncClient | None = None, poll_interval_s: float = 1.0,
                 clock: Callable[[], float] = time.time):
        if not servers:
            raise ComfyError("no ComfyUI server configured", hint="set at least one server URL")
        self.backends = [as_backend(s) for s in servers]
        self.timeout_s, self.poll_interval_s, self.clock = timeout_s, poll_interval_s, clock
        self._own_http = http is None
        self._http = http
        self._clients: list[Client] = []
        self._pool: list[_Server] | None = None

    async def __aenter__(self) -> Dispatcher:
        self._http = self._http or new_http_client([b.name for b in self.backends])
        self._checking = asyncio.Lock()
        self._slot_freed = asyncio.Condition()
        try:
            self._clients = [make_client(b, http=self._http, timeout_s=self.timeout_s,
                                         poll_interval_s=self.poll_interval_s, clock=self.clock)
                             for b in self.backends]
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await asyncio.gather(*(client.aclose() for client in self._clients))
        if self._own_http and self._http is not None:
            await self._http.aclose()

    async def run(self, jobs: list[GenJob], out_dir: Path, *, on_event: EventFn | None = None,
                  cache_dir: Path | None = None) -> list[GenerationResult]:
        """Generate these jobs into `out_dir` (see generate_all); other runs' jobs may share the servers."""
        all_cached = cache_dir is not None and all(
            (Path(cache_dir) / f"{graph_sha256(job.graph)}.png").is_file() for job in jobs)
        # A run served wholly from the cache needs no server at all.
        pool = self._unchecked_pool() if all_cached and self._pool is None else await self._servers()
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        plans = [_Plan(pool) for _ in jobs] if all_cached else await plan_models(jobs, pool)
        runner = _JobRunner(out_dir, self.timeout_s, on_event, cache_dir, self.clock, self._slot_freed)
        return await _run_all([runner.run(job, plan) for job, plan in zip(jobs, plans)])

    async def reachable(self) -> list[Backend]:
        """The backends that answered, priced as they bill; raises ComfyError when none did."""
        return [server.backend for server in await self._servers()]

    async def _servers(self) -> list[_Server]:
        """The reachable servers, checked at the first call."""
        async with self._checking:
            if self._pool is None:
                up, down = await check_servers(self._clients)
                if not up:
                    raise _none_reachable(down)
                backend_of = dict(zip(map(id, self._clients), self.backends))
                self._pool = [_Server(url=c.base_url, client=c, backend=backend_of[id(c)].priced_for(c)) for c in up]
            return self._pool

    def _unchecked_pool(self) -> list[_Server]:
        return [_Server(url=c.base_url, client=c, backend=b) for c, b in zip(self._clients, self.backends)]


async def _run_all(coros: list) -> list:
    """gather() that, when cancelled or failing, still waits until every task has finished.

    gather() gives up at the first cancelled child while the others are still asking their
    servers to drop our prompts; closing the HTTP client then would leave prompts queued.
    """
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        pending = [t for t in tasks if not t.done()]
        for task in pending:
            if not task.cancelling():  # a second cancel would cut its cleanup short
                task.cancel()
        if pending:
            _, stuck = await asyncio.wait(pending, timeout=CLEANUP_GRACE_S)
            for task in stuck:  # never hang on Ctrl-C, even if a cancel got lost
                task.cancel()
            if stuck:
                await asyncio.wait(stuck)


class _JobRunner:
    """Runs one job to a GenerationResult: submit, at most one retry, write the file."""

    def __init__(self, out_dir: Path, timeout_s: float, on_event: EventFn | None,
                 cache_dir: Path | None, clock: Callable[[], float], slot_freed: asyncio.Condition):
        self.out_dir, self.timeout_s = out_dir, timeout_s
        self.on_event, self.cache_dir, self.clock = on_event, cache_dir, clock
        self.slot_freed = slot_freed  # shared by every run on the same servers

    async def run(self, job: GenJob, plan: _Plan) -> GenerationResult:
        t0 = time.monotonic()
        sha = graph_sha256(job.graph)
        target = self.out_dir / job.filename
        rel = f"{self.out_dir.name}/{target.name}"
        result = GenerationResult(variant=job.variant, ok=False, seed=job.seed, graph_sha256=sha)
        if self._from_cache(sha, target):
            result.ok, result.path, result.cached = True, rel, True
            _emit(self.on_event, "done", {"variant": job.variant, "server": None, "path": rel,
                                          "cached": True, "seconds": 0.0})
            return result

        # Claiming a free slot does not suspend, so jobs are spread in submission order.
        server = await self._claim(plan.servers)
        result.error = plan.refusal
        for attempt_no in (1, 2):
            if server is None:
                result.error = result.error or "no ComfyUI server left to run this job"
                break
            attempt, error = await self._attempt(job, server, attempt_no, target)
            result.attempts.append(attempt)
            if error is None:
                result.ok, result.path, result.error = True, rel, None
                self._to_cache(sha, target)
                _emit(self.on_event, "done", {"variant": job.variant, "server": server.url,
                                              "path": rel, "cached": False,
                                              "seconds": round(time.monotonic() - t0, 3),
                                              "cost_usd": _billed(result.attempts)})
                break
            result.error = attempt.error
            if attempt_no == 2 or not is_transient(error):
                break
            await self._mark_if_down(server)
            previous, server = server, await self._claim(plan.servers, exclude=server)
            if server is not None:
                _emit(self.on_event, "retry", {"variant": job.variant, "server": server.url,
                                               "previous": previous.url, "error": attempt.error})
        if not result.ok:
            log.info("variant %d failed: %s", job.variant, result.error)  # the reporter shows it
            _emit(self.on_event, "failed", {"variant": job.variant, "error": result.error,
                                            "server": result.attempts[-1].server
                                            if result.attempts else None})
        result.seconds = round(time.monotonic() - t0, 3)
        return result

    async def _attempt(self, job: GenJob, server: _Server, attempt_no: int,
                       target: Path) -> tuple[Attempt, BaseException | None]:
        prompt_id = str(uuid.uuid4())  # server.busy already counts this attempt (see _claim)
        # Our prompt waits behind our other prompts on this server: allow one timeout each.
        limit = self.timeout_s * server.busy
        attempt = Attempt(server=server.url, prompt_id=prompt_id, started_at=self.clock())

        def progress(value: int, maximum: int) -> None:
            _emit(self.on_event, "progress", {"variant": job.variant, "server": server.url,
                                              "value": value, "max": maximum})
        error: BaseException | None = None
        recorded = False
        try:
            # The caller may record the prompt on disk before it is sent (a resumed run collects it
            # instead of paying twice): wait until it says so.
            await _acknowledged(_emit(self.on_event, "submitted", {"variant": job.variant, "server": server.url,
                                                                  "prompt_id": prompt_id, "attempt": attempt_no}))
            recorded = True
            out = await server.client.run(job.graph, job.output_node, on_progress=progress,
                                          timeout_s=limit, prompt_id=prompt_id, **self._naming(job, server, attempt))
            attempt.billed = True  # made by the server: paid for even if writing it fails
            attempt.gpu_seconds = out.gpu_seconds
            attempt.cost_usd = server.backend.cost(out)
            if len(out.images) > 1:
                log.info("variant %d: %d images, keeping the first", job.variant,
                         len(out.images))
            # Written without an await: a cancellation cannot fall between the image made and it paid for.
            write_atomic(target, as_png(out.images[0]))
            server.done += 1
        except ComfyError as exc:
            error = exc
            attempt.outcome = getattr(exc, "kind", "error")
            attempt.error = exc.message
            attempt.billed = bool(getattr(exc, "executed", False))
            attempt.cost_usd = server.backend.cost(None) if attempt.billed else 0.0
        except OSError as exc:
            error = exc
            attempt.outcome, attempt.error = "error", f"could not write {target}: {exc}"
        except asyncio.CancelledError:
            attempt.outcome = "cancelled"
            if recorded:
                await self._keep_if_made(job, server, attempt, target)
            raise
        except Exception as exc:  # unexpected server answer: fail this job, not the run
            log.exception("variant %d on %s failed unexpectedly", job.variant, server.url)
            error = exc
            attempt.outcome, attempt.error = "error", f"{type(exc).__name__}: {exc}"
        finally:
            server.busy -= 1
            attempt.ended_at = self.clock()
            async with self.slot_freed:
                self.slot_freed.notify_all()
        if error is not None:
            log.info("variant %d attempt %d on %s: %s", job.variant, attempt_no,
                        server.url, attempt.error)
        return attempt, error

    def _naming(self, job: GenJob, server: _Server, attempt: Attempt) -> dict:
        """For backends that name their own jobs (RunPod): record the real id the moment it is known."""
        if not getattr(server.client, "assigns_ids", False):
            return {}

        def queued(job_id: str) -> None:
            previous, attempt.prompt_id = attempt.prompt_id, job_id
            _emit(self.on_event, "queued", {"variant": job.variant, "server": server.url,
                                            "prompt_id": job_id, "previous": previous})
        return {"on_queued": queued}

    async def _keep_if_made(self, job: GenJob, server: _Server, attempt: Attempt, target: Path) -> None:
        """A prompt we cancel may have finished on the server a moment before: keep its image and pay
        for it, so a cancelled run settles everything the server made for it."""
        try:
            out = await asyncio.wait_for(server.client.collect(attempt.prompt_id, job.output_node, KEEP_IF_MADE_S),
                                         KEEP_IF_MADE_S * 2)
            if out is None or not out.images:
                return
            write_atomic(target, as_png(out.images[0]))
        except (ComfyError, OSError, httpx.HTTPError, asyncio.TimeoutError):
            return  # interrupted or deleted in time: nothing was made
        attempt.outcome, attempt.billed, attempt.error = "ok", True, None
        attempt.gpu_seconds, attempt.cost_usd = out.gpu_seconds, server.backend.cost(out)
        rel = f"{target.parent.name}/{target.name}"
        _emit(self.on_event, "done", {"variant": job.variant, "server": server.url, "path": rel,
                                      "cached": False, "seconds": 0.0, "cost_usd": attempt.cost_usd})

    async def _claim(self, servers: list[_Server], exclude: _Server | None = None) -> _Server | None:
        """Take a slot on the least busy server, waiting while every server has MAX_IN_FLIGHT_PER_SERVER
        of our prompts; None when no server is up."""
        async with self.slot_freed:
            while pick_server(servers, exclude=exclude) is not None:
                server = pick_server([s for s in servers if s.busy < MAX_IN_FLIGHT_PER_SERVER], exclude=exclude)
                if server is not None:
                    server.busy += 1
                    return server
                await self.slot_freed.wait()
        return None

    async def _mark_if_down(self, server: _Server) -> None:
        # A dead server would fail every later job too: stop sending work there.
        try:
            await server.client.check()
        except ComfyError as exc:
            if server.up:
                log.warning("ComfyUI server %s went down: %s", server.url, exc.message)
            server.up = False

    def _from_cache(self, sha: str, target: Path) -> bool:
        if self.cache_dir is None:
            return False
        cached = Path(self.cache_dir) / f"{sha}.png"
        try:
            data = cached.read_bytes()
            with Image.open(io.BytesIO(data)) as img:
                img.verify()
        except FileNotFoundError:
            return False
        except Exception as exc:  # a broken cache entry is regenerated, not trusted
            log.warning("ignoring unreadable cache entry %s: %s", cached, exc)
            return False
        write_atomic(target, data)
        return True

    def _to_cache(self, sha: str, target: Path) -> None:
        if self.cache_dir is None:
            return
        try:
            Path(self.cache_dir).mkdir(parents=True, exist_ok=True)
            write_atomic(Path(self.cache_dir) / f"{sha}.png", target.read_bytes())
        except OSError as exc:
            log.warning("could not store %s in the cache: %s", target, exc)
