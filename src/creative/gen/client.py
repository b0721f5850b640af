"""Async client for one ComfyUI server (0.3.x): submit a graph, follow it, download images.

Protocol facts (recorded from a real ComfyUI 0.3.64 server, see tests/fixtures/comfyui): only the socket whose
clientId equals the prompt's client_id gets execution frames, so the socket is opened before
the POST; a prompt is done on `executing {node: null, prompt_id}`; history is written before
that frame; frames sent while the socket is down are lost, so we fall back to polling.

The output node's `executed` frame names its images as soon as they are saved, just before
`execution_success`: they are downloaded from that moment, and a prompt whose success frame
arrived needs no /history round-trip at all.
"""

from __future__ import annotations

import asyncio
import io
import logging
import struct
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlsplit, urlunsplit

import httpx
from PIL import Image
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException
from zlib_ng import zlib_ng

from creative.gen.workflow import missing_models, model_loader_classes
from creative.core.mock import MOCK_HEADER
from creative.core.errors import ComfyError, ComfyValidationError
from creative.core.images import MAX_IMAGE_PIXELS, check_pixels
from creative.core.json_text import loads as json_loads

log = logging.getLogger(__name__)

MAX_IMAGE_BYTES = 64 * 1024 * 1024
CANCEL_TIMEOUT_S = 5.0  # Ctrl-C must not hang on a server that stopped answering
SWEEP_GATHER_S = 0.02  # how long a cancel waits for the runs cancelled with it
RECONNECT_EVERY_S = 2.0
HISTORY_GRACE_S = 2.0  # how long to wait for history after `executing null` (never needed so far)
MAX_PENDING_POLL_S = 5.0  # polling a prompt /queue shows as pending backs off up to this
REQUEST_TIMEOUT_S = 30.0  # whole request, body included: httpx's own timeouts restart with each byte
# Past the prompt's own deadline checks: time for a timed-out prompt's cancel to reach the server,
# after which a backstop stops any wait those checks missed.
BACKSTOP_GRACE_S = CANCEL_TIMEOUT_S + 1.0


def comfy_error(message: str, *, transient: bool, kind: str = "error",
                hint: str | None = None, cls: type[ComfyError] = ComfyError) -> ComfyError:
    """A ComfyError tagged for dispatch: `transient` (worth one retry) and `kind`
    ("error" | "timeout" | "cancelled", matching Attempt.outcome)."""
    err = cls(message, hint=hint)
    err.transient = transient  # type: ignore[attr-defined]
    err.kind = kind  # type: ignore[attr-defined]
    return err


def is_transient(exc: BaseException) -> bool:
    """True when retrying elsewhere may help; validation errors never are."""
    if isinstance(exc, ComfyValidationError):
        return False
    return bool(getattr(exc, "transient", False))


@dataclass
class RunOutput:
    """What one finished prompt produced. `cached`: ComfyUI served the output node from cache."""

    prompt_id: str
    images: list[bytes]
    filenames: list[str]
    queued_at: float
    started_at: float | None
    ended_at: float
    cached: bool = False
    server: str = ""
    gpu_seconds: float | None = None  # measured execution time where the server reports it (RunPod)
    delay_seconds: float | None = None  # time in the provider's queue, cold start included (RunPod)


# --- error formatting (pure) ----------------------------------------------------------


def _format_node_error(error: dict) -> str:
    message = str(error.get("message", "")).strip()
    details = str(error.get("details", "")).strip()
    extra = error.get("extra_info") or {}
    if error.get("type") == "value_not_in_list" and "received_value" in extra:
        config = extra.get("input_config") or [[]]
        choices = config[0] if isinstance(config, list) and config else []
        available = ", ".join(map(str, choices)) if choices else "none"
        return (f"{message}: {extra.get('input_name', '?')} "
                f"'{extra['received_value']}' is not available (available: {available})")
    return f"{message}: {details}" if details else message


def format_validation_error(body: Any, output_node: str | None = None,
                            server: str = "ComfyUI") -> str:
    """One line from a /prompt 400 body: every failing node with its class and errors.

    With `output_node`, only node errors that block that output are listed (a 200 answer
    may carry errors for other outputs).
    """
    if not isinstance(body, dict):
        return f"{server} rejected the workflow: {body!r}"
    top = body.get("error") or {}
    if isinstance(top, str):
        top = {"message": top}
    parts: list[str] = []
    for node_id, node in (body.get("node_errors") or {}).items():
        if output_node is not None and output_node not in node.get("dependent_outputs", [output_node]):
            continue
        errors = "; ".join(_format_node_error(e) for e in node.get("errors", [])) or "invalid"
        parts.append(f"node {node_id} ({node.get('class_type', '?')}): {errors}")
    head = str(top.get("message") or "").strip().rstrip(".")
    if not head and output_node is not None:
        head = f"output node {output_node} failed validation"
    head = head or "invalid workflow"
    if not parts:
        details = str(top.get("details") or "").strip()
        extra = f" ({details})" if details and details.rstrip(".") != head else ""
        return f"{server} rejected the workflow: {head}{extra}"
    return f"{server} rejected the workflow ({head}): " + " | ".join(parts)


def _validation_hint(body: Any) -> str | None:
    for node in ((body or {}).get("node_errors") or {}).values() if isinstance(body, dict) else []:
        for e in node.get("errors", []):
            if (e.get("extra_info") or {}).get("input_name") == "ckpt_name":
                return ("put the checkpoint in ComfyUI/models/checkpoints on that server, or "
                        "change ckpt_name in the workflow to one that is available")
    return None


def format_execution_error(data: dict) -> str:
    """`node <id> (<class>): <exception_message>` from an execution_error frame or history."""
    msg = " ".join(str(data.get("exception_message", "")).split()) or "failed"
    etype = data.get("exception_type")
    suffix = f" [{etype}]" if etype and etype not in ("Exception",) else ""
    return f"node {data.get('node_id', '?')} ({data.get('node_type', '?')}): {msg}{suffix}"


def _queue_ids(queue: dict) -> set[str]:
    ids: set[str] = set()
    for key in ("queue_running", "queue_pending"):
        for item in queue.get(key) or []:
            # Real ComfyUI: [number, prompt_id, prompt, extra_data, outputs]; accept dicts too.
            if isinstance(item, (list, tuple)) and len(item) > 1:
                ids.add(str(item[1]))
            elif isinstance(item, dict) and "prompt_id" in item:
                ids.add(str(item["prompt_id"]))
    return ids


def _interrupted(base_url: str, prompt_id: str, data: dict) -> ComfyError:
    # Not transient: an interrupt is a deliberate act (ComfyUI's Cancel button, another client's
    # POST /interrupt, or our own cancellation). Re-running the prompt elsewhere would override
    # that decision and spend money the person who pressed Cancel did not want spent.
    return comfy_error(f"ComfyUI at {base_url}: prompt {prompt_id} was interrupted on the "
                       f"server at node {data.get('node_id', '?')} ({data.get('node_type', '?')}); "
                       f"someone cancelled it there, so it is not retried",
                       transient=False, kind="cancelled")


def new_http_client(server_urls: list[str]) -> httpx.AsyncClient:
    """An HTTP client for these ComfyUI servers. Certificates are loaded (about 0.1 s) only when a
    server speaks HTTPS; redirects are never followed, so plain-HTTP servers never need them."""
    needs_tls = any(urlsplit(url).scheme == "https" for url in server_urls)
    return httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=5.0), verify=needs_tls)


def _check_image(data: bytes, max_pixels: int) -> None:
    """Raise unless `data` fully decodes as an image of at most `max_pixels` pixels."""
    check_pixels(data, max_pixels)  # from the header, before any pixel is decoded
    with Image.open(io.BytesIO(data)) as img:
        if _png_pixels_intact(data) is None:
            img.load()  # verify() alone passes images whose pixel data is corrupt


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # by colour type


def _png_pixels_intact(data: bytes) -> bool | None:
    """For a plain (non-interlaced, non-palette) PNG: check its pixel stream inflates, checksum
    and all, to exactly one filtered row per line; None when the full decode must decide.

    This is what decoding can fail on, at a fraction of the cost of un-filtering every pixel
    (which cannot fail), so a finished image reaches the disk sooner.
    """
    if not data.startswith(PNG_SIGNATURE):
        return None
    pos, header, idat = len(PNG_SIGNATURE), None, []
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if len(body) != length:
            raise ValueError("PNG truncated inside a chunk")
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body[:13])
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    if header is None:
        return None
    width, height, depth, colour, _, _, interlace = header
    if interlace or colour not in PNG_CHANNELS or colour == 3:
        return None
    stride = 1 + (width * PNG_CHANNELS[colour] * depth + 7) // 8
    # zlib-ng inflates the same stream, checksum and all, 6-10x faster than the stdlib's zlib here
    inflater = zlib_ng.decompressobj()
    raw = inflater.decompress(b"".join(idat), stride * height + 1)
    if len(raw) != stride * height or not inflater.eof:
        raise ValueError("PNG pixel data is incomplete or corrupt")
    if any(raw[row * stride] > 4 for row in range(height)):
        raise ValueError("PNG pixel data has an unknown row filter")
    return True


def _json_kind(value: Any) -> str:
    """'list', 'string', 'number'... for a decoded JSON value, as a message names it."""
    return {list: "list", str: "string", int: "number", float: "number", bool: "boolean",
            type(None): "null", dict: "object"}.get(type(value), type(value).__name__)


def _ws_url(base_url: str, client_id: str) -> str:
    parts = urlsplit(base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/ws",
                       f"clientId={client_id}", ""))


# --- the client ------------------------------------------------------------------------


@dataclass
class _State:
    prompt_id: str
    output_node: str
    queued_at: float
    started_at: float | None = None
    cached: bool = False
    done: bool = False
    last_news: float = field(default_factory=time.monotonic)  # last own frame or poll
    where: str = "queued"  # for the timeout message
    socket_down: bool = False
    poll_every: float = 0.0  # current quiet time before a poll; set from the client's interval
    succeeded: bool = False  # execution_success arrived on the socket
    deadline: float = float("inf")  # time.monotonic() by which the prompt and its images are done
    prefetch: asyncio.Task | None = None  # download of the images its `executed` frame named

    def drop_prefetch(self) -> None:
        """Stop an unused download; a finished one's error counts as seen (nothing is logged)."""
        task, self.prefetch = self.prefetch, None
        if task is None:
            return
        if not task.done():
            task.cancel()
        elif not task.cancelled():
            task.exception()


class ComfyClient:
    """One ComfyUI server. Pass `http` to share a connection pool or inject a transport."""

    def __init__(self, base_url: str, *, http: httpx.AsyncClient | None = None,
                 timeout_s: float = 600.0, poll_interval_s: float = 1.0,
                 max_image_bytes: int = MAX_IMAGE_BYTES,
                 request_timeout_s: float = REQUEST_TIMEOUT_S,
                 clock: Callable[[], float] = time.time):
        self.base_url = base_url.rstrip("/")
        self.is_mock = False  # set by check(): the bundled mock says so
        self.timeout_s = timeout_s
        # A request never outlasts the prompt timeout either: a 20 s setting holds for each request.
        self.request_timeout_s = min(request_timeout_s, timeout_s)
        self.poll_interval_s = poll_interval_s
        self.max_image_bytes = max_image_bytes
        self.clock = clock
        self._own_http = http is None
        self._closing: dict[asyncio.Task, ClientConnection] = {}
        self._node_info: dict[str, dict] = {}  # /object_info/<class>, fetched once per client
        self._node_info_lock = asyncio.Lock()
        self._sweep: tuple[set[str], asyncio.Task] | None = None  # see _cancel_with_others
        self._queue_snapshot: tuple[float, asyncio.Future] | None = None  # see _shared_queue
        self.http = http or new_http_client([base_url])

    @property
    def _name(self) -> str:
        return f"ComfyUI at {self.base_url}"

    async def aclose(self) -> None:
        """Finish socket closes still in flight and close our own HTTP client."""
        if self._closing:
            await asyncio.wait(list(self._closing), timeout=0.1)
            for task, ws in list(self._closing.items()):
                ws.transport.abort()  # peer never finished the handshake; drop the TCP link
            await asyncio.gather(*self._closing, return_exceptions=True)
        if self._own_http:
            await self.http.aclose()

    async def __aenter__(self) -> ComfyClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- plain HTTP ------------------------------------------------------------------

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        url = self.base_url + path
        try:
            async with asyncio.timeout(self.request_timeout_s):
                return await self.http.request(method, url, **kwargs)
        except TimeoutError:
            raise comfy_error(f"ComfyUI at {self.base_url} did not finish answering {method} {path} "
                              f"within {self.request_timeout_s:g} s (timeout)", transient=True,
                              kind="timeout") from None
        except httpx.TimeoutException as exc:
            raise comfy_error(f"ComfyUI at {self.base_url} did not answer {method} {path} in "
                              f"time ({type(exc).__name__})", transient=True, kind="timeout") from exc
        except httpx.HTTPError as exc:
            why = str(exc) or type(exc).__name__
            raise comfy_error(f"ComfyUI at {self.base_url} is unreachable: {why}",
                              transient=True,
                              hint="start ComfyUI there or fix the server URL") from exc

    async def _get_json(self, path: str, **kwargs: Any) -> Any:
        resp = await self._request("GET", path, **kwargs)
        return self._json(resp, f"GET {path}")

    async def _get_mapping(self, path: str) -> dict:
        """GET `path`, which must answer a JSON object: a list or a string is a server error."""
        answer = await self._get_json(path)
        if not isinstance(answer, dict):
            raise comfy_error(f"ComfyUI at {self.base_url}: GET {path} answered a JSON "
                              f"{_json_kind(answer)}, not an object ({str(answer)[:60]!r})",
                              transient=True)
        return answer

    def _json(self, resp: httpx.Response, what: str) -> Any:
        if resp.status_code >= 500:
            raise comfy_error(f"ComfyUI at {self.base_url}: server error on {what} "
                              f"(HTTP {resp.status_code}: {' '.join(resp.text.split())[:120]!r})",
                              transient=True)
        if resp.status_code != 200:
            raise comfy_error(f"ComfyUI at {self.base_url}: {what} answered HTTP "
                              f"{resp.status_code}", transient=False)
        try:
            return json_loads(resp.text)  # depth-capped: a hostile server cannot blow the stack
        except ValueError:
            raise comfy_error(f"ComfyUI at {self.base_url}: server error on {what} (answer is "
                              f"not JSON: {resp.text[:80].strip()!r})", transient=True) from None

    async def check(self) -> dict:
        """GET /system_stats; ComfyError naming the URL and why when it is not usable."""
        resp = await self._request("GET", "/system_stats")
        stats = self._json(resp, "GET /system_stats")
        self.is_mock = resp.headers.get(MOCK_HEADER) == "1"  # its images cost nothing unless priced
        if not isinstance(stats, dict) or "system" not in stats:
            raise comfy_error(f"{self.base_url} does not look like ComfyUI (/system_stats "
                              f"has no 'system')", transient=False)
        return stats

    async def object_info(self) -> dict:
        """GET /object_info: every node class with its inputs and choices."""
        return await self._get_mapping("/object_info")

    async def queue(self) -> dict:
        return await self._get_mapping("/queue")

    async def _shared_queue(self) -> dict:
        """/queue for polling, fetched at most once per poll interval for all our prompts.

        /queue carries every queued graph: with many prompts queued, one fetch per prompt per
        interval was most of the client's work. cancel() always fetches afresh.
        """
        now = time.monotonic()
        if self._queue_snapshot is None or now - self._queue_snapshot[0] >= self.poll_interval_s:
            task = asyncio.ensure_future(self.queue())
            task.add_done_callback(self._forget_failed_queue)
            self._queue_snapshot = (now, task)
        # shielded: one poller being cancelled must not cancel the fetch the others wait for
        return await asyncio.shield(self._queue_snapshot[1])

    def _forget_failed_queue(self, task: asyncio.Future) -> None:
        if task.cancelled() or task.exception() is not None:  # retrieves it: no "never retrieved"
            if self._queue_snapshot is not None and self._queue_snapshot[1] is task:
                self._queue_snapshot = None  # the next poll asks again

    async def history(self, prompt_id: str) -> dict:
        """The history entry of one prompt, or {} while it has none."""
        entry = (await self._get_mapping(f"/history/{prompt_id}")).get(prompt_id) or {}
        if not isinstance(entry, dict):
            raise comfy_error(f"ComfyUI at {self.base_url}: the history of prompt {prompt_id} is "
                              f"a JSON {_json_kind(entry)}, not an object", transient=True)
        return entry

    async def collect(self, prompt_id: str, output_node: str, timeout_s: float) -> RunOutput | None:
        """The images of a prompt we queued earlier (e.g. before a crash), waiting while it is
        still queued or running; None when the server no longer knows it."""
        deadline = time.monotonic() + timeout_s
        state = _State(prompt_id=prompt_id, output_node=output_node, queued_at=self.clock())
        while True:
            entry = await self.history(prompt_id)
            if entry:
                self._check_history(entry, state)
                images, names = await self._download_outputs(entry, output_node, prompt_id, deadline)
                return RunOutput(prompt_id=prompt_id, images=images, filenames=names, queued_at=state.queued_at,
                                 started_at=state.started_at, ended_at=self.clock(), cached=state.cached,
                                 server=self.base_url)
            if prompt_id not in _queue_ids(await self.queue()):
                return None
            if time.monotonic() >= deadline:
                raise self._timeout(state, timeout_s)
            await asyncio.sleep(self.poll_interval_s)

    async def cancel(self, prompt_ids: list[str] | set[str]) -> None:
        """Delete those of `prompt_ids` still pending, then interrupt those that run.

        Only these ids are touched: other clients' prompts on the server survive.
        """
        wanted = {str(p) for p in prompt_ids}
        if not wanted:
            return
        queue = await self.queue()
        pending = _queue_ids({"queue_pending": queue.get("queue_pending")}) & wanted
        if pending:
            await self._request("POST", "/queue", json={"delete": sorted(pending)})
            # A pending one may have started meanwhile (delete is then a no-op): look again.
            queue = await self.queue()
        running = _queue_ids({"queue_running": queue.get("queue_running")}) & wanted
        for pid in running:
            # prompt_id makes the interrupt targeted: someone else's prompt is never stopped.
            await self._request("POST", "/interrupt", json={"prompt_id": pid})
        log.info("cancelled on %s: %d running, %d pending", self.base_url,
                 len(running), len(pending))

    # -- models ----------------------------------------------------------------------

    async def node_info(self, classes: list[str]) -> dict:
        """`/object_info/<class>` for each class, fetched once per client and kept."""
        async with self._node_info_lock:  # concurrent callers share one fetch per class
            for name in classes:
                if name not in self._node_info:
                    info = (await self._get_mapping(f"/object_info/{name}")).get(name)
                    self._node_info[name] = info if isinstance(info, dict) else {}
        return {name: self._node_info[name] for name in classes if self._node_info[name]}

    async def check_models(self, graph: dict) -> None:
        """Raise ComfyValidationError (never retried) when this server lacks a model the
        graph loads: the same facts its 400 would give, without submitting anything."""
        classes = model_loader_classes(graph)
        if not classes:
            return
        problems = missing_models(graph, await self.node_info(classes))
        if problems:
            raise comfy_error(f"{self._name} does not have a model the workflow needs: "
                              + " | ".join(problems), transient=False, cls=ComfyValidationError,
                              hint=("put the checkpoint in ComfyUI/models/checkpoints on that "
                                    "server, or change ckpt_name in the workflow to one that "
                                    "is available"))

    # -- one prompt ------------------------------------------------------------------

    async def run(self, graph: dict, output_node: str, *,
                  on_progress: Callable[[int, int], None] | None = None,
                  timeout_s: float | None = None, prompt_id: str | None = None) -> RunOutput:
        """Submit `graph`, follow it to the end and return the output node's images.

        `timeout_s` overrides the client's per-prompt limit; `prompt_id` lets the caller
        record the id before submitting (a fresh uuid4 otherwise).
        """
        client_id = uuid.uuid4().hex
        prompt_id = prompt_id or str(uuid.uuid4())
        limit = self.timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + limit
        # Each wait below has its own deadline check; this backstop bounds any wait that has none.
        state = _State(prompt_id=prompt_id, output_node=output_node, queued_at=self.clock(),
                       deadline=deadline)
        try:
            async with asyncio.timeout(limit + BACKSTOP_GRACE_S):
                return await self._run(graph, output_node, client_id, state, limit, on_progress)
        except TimeoutError:
            # The cancel that stopped it also cancelled our prompt on the server (see _run).
            err = self._timeout(state, limit)
            err.executed = state.succeeded or state.done  # type: ignore[attr-defined]
            raise err from None

    async def _run(self, graph: dict, output_node: str, client_id: str, state: _State,
                   limit: float, on_progress: Callable[[int, int], None] | None) -> RunOutput:
        prompt_id, deadline = state.prompt_id, state.deadline
        ws = await self._connect_ws(client_id)
        try:
            try:
                state = await self._submit(graph, output_node, client_id, state)
                ws = await self._follow(ws, client_id, state, deadline, limit, on_progress)
            except ComfyError as exc:
                if getattr(exc, "kind", "") == "timeout":
                    await self._cancel_quietly(prompt_id)
                raise
            except asyncio.CancelledError:
                # Also while the POST is in flight: the server may have queued it already,
                # and we know its id because we chose it.
                await self._cancel_with_others(prompt_id)
                raise
            state.where = "downloading its images"
            try:
                if state.succeeded and state.prefetch is not None:
                    images, names = await state.prefetch
                else:
                    # Success not seen on the socket (frames lost while it was down, or no
                    # `executed` frame): history is the authority on the outcome and the images.
                    entry = await self._finished_history(state, deadline)
                    images, names = await self._download_outputs(entry, output_node, state.prompt_id,
                                                                 deadline)
            except ComfyError as exc:
                # The server made the image but we could not fetch or read it: it is still paid for.
                exc.executed = state.succeeded or state.done  # type: ignore[attr-defined]
                raise
        finally:
            state.drop_prefetch()
            if ws is not None:
                # The close handshake can stall up to close_timeout; don't make results wait.
                task = asyncio.create_task(ws.close())
                self._closing[task] = ws
                task.add_done_callback(lambda t: self._closing.pop(t, None))
        return RunOutput(prompt_id=state.prompt_id, images=images, filenames=names,
                         queued_at=state.queued_at, started_at=state.started_at,
                         ended_at=self.clock(), cached=state.cached, server=self.base_url)

    async def _cancel_quietly(self, prompt_ids: str | set[str]) -> None:
        ids = {prompt_ids} if isinstance(prompt_ids, str) else prompt_ids
        try:
            await asyncio.wait_for(self.cancel(ids), CANCEL_TIMEOUT_S)
        except (ComfyError, asyncio.TimeoutError) as exc:
            log.warning("could not cancel %s on %s: %s", ", ".join(sorted(ids)), self.base_url,
                        getattr(exc, "message", None) or type(exc).__name__)

    async def _cancel_with_others(self, prompt_id: str) -> None:
        """Cancel `prompt_id` in one sweep with every run of this client cancelled with it.

        Ctrl-C cancels all our runs at once. Cancelled one by one, interrupting our running
        prompt can let the server start our next one before its delete arrives; one sweep
        deletes all pending ones first, then interrupts. Shielded: a cancel must not cut it.
        """
        if self._sweep is None:
            self._sweep = (set(), asyncio.create_task(self._sweep_soon()))
        ids, task = self._sweep
        ids.add(prompt_id)
        await asyncio.shield(task)

    async def _sweep_soon(self) -> None:
        await asyncio.sleep(SWEEP_GATHER_S)  # the other runs are still unwinding their cancel
        assert self._sweep is not None
        ids, self._sweep = self._sweep[0], None  # late arrivals start a new sweep
        await self._cancel_quietly(ids)

    async def _connect_ws(self, client_id: str) -> ClientConnection | None:
        url = _ws_url(self.base_url, client_id)
        try:
            # Preview frames can be large; the size cap only bounds memory per frame.
            return await connect(url, open_timeout=5.0, close_timeout=1.0,
                                 max_size=self.max_image_bytes,
                                 ping_interval=None)
        except (OSError, WebSocketException, asyncio.TimeoutError) as exc:
            log.warning("websocket %s failed (%s); following by polling", url, exc)
            return None

    async def _submit(self, graph: dict, output_node: str, client_id: str,
                      state: _State) -> _State:
        prompt_id = state.prompt_id
        body = {"prompt": graph, "client_id": client_id, "prompt_id": prompt_id}
        resp = await self._request("POST", "/prompt", json=body)
        if resp.status_code == 400:
            try:
                detail = json_loads(resp.text)
            except ValueError:
                detail = resp.text[:200]
            err = comfy_error(format_validation_error(detail, server=self._name),
                              transient=False,
                              hint=_validation_hint(detail), cls=ComfyValidationError)
            err.body = detail  # type: ignore[attr-defined]
            raise err
        answer = self._json(resp, "POST /prompt")
        if not isinstance(answer, dict):
            raise comfy_error(f"ComfyUI at {self.base_url}: POST /prompt answered a JSON "
                              f"{_json_kind(answer)}, not an object", transient=True)
        node_errors = answer.get("node_errors") or {}
        blocking = {k: v for k, v in node_errors.items()
                    if output_node in v.get("dependent_outputs", [output_node])}
        if blocking:
            # ComfyUI queued the other outputs only; ours will never be produced.
            await self._cancel_quietly(prompt_id)
            raise comfy_error(format_validation_error(answer, output_node, server=self._name),
                              transient=False,
                              hint=_validation_hint(answer), cls=ComfyValidationError)
        if answer.get("prompt_id") not in (None, prompt_id):
            log.warning("%s replaced our prompt_id %s by %s", self.base_url, prompt_id,
                        answer["prompt_id"])
            state.prompt_id = str(answer["prompt_id"])
        log.debug("queued %s on %s (number %s)", state.prompt_id, self.base_url, answer.get("number"))
        state.poll_every = self.poll_interval_s
        return state

    async def _follow(self, ws: ClientConnection | None, client_id: str, state: _State,
                      deadline: float, limit: float,
                      on_progress: Callable[[int, int], None] | None) -> ClientConnection | None:
        """Wait for the end of our prompt: socket frames first, polling when there is no news."""
        last_connect = time.monotonic()
        state.socket_down = ws is None
        while not state.done:
            now = time.monotonic()
            if now >= deadline:
                raise self._timeout(state, limit)
            quiet_left = state.poll_every - (now - state.last_news)
            if quiet_left <= 0:
                # Polled on silence, not only on socket timeouts: a socket that carries only
                # other prompts' status frames never goes quiet, yet ours may have been lost.
                await self._poll(state)
                continue
            wait = min(quiet_left, deadline - now)
            if ws is None:
                if now - last_connect >= RECONNECT_EVERY_S:
                    last_connect = now
                    ws = await self._connect_ws(client_id)  # same clientId: frames resume
                if ws is None:
                    await asyncio.sleep(wait)
                continue
            try:
                # asyncio.timeout, not wait_for: 3.11's wait_for swallows a cancel (Ctrl-C)
                # that lands just as a frame arrives, and the prompt would never be cancelled.
                async with asyncio.timeout(wait):
                    frame = await ws.recv()
            except TimeoutError:
                continue
            except (WebSocketException, OSError) as exc:
                log.warning("websocket to %s dropped (%s); polling and reconnecting",
                            self.base_url, exc)
                ws, state.socket_down = None, True
                last_connect = now - RECONNECT_EVERY_S  # reconnect at once
                state.last_news = 0.0  # frames sent while down are lost: poll at once
                continue
            if isinstance(frame, str):
                self._on_frame(frame, state, on_progress)
        return ws

    def _timeout(self, state: _State, limit: float) -> ComfyError:
        how = ("; the websocket was down, so it was followed by polling /history and /queue"
               if state.socket_down else "")
        return comfy_error(f"ComfyUI at {self.base_url}: prompt {state.prompt_id} did not "
                           f"finish within {limit:g} s (timeout; it was still {state.where}"
                           f"{how})", transient=True, kind="timeout",
                           hint="raise the timeout or check the server")

    def _on_frame(self, frame: str, state: _State,
                  on_progress: Callable[[int, int], None] | None) -> None:
        """Apply one socket frame; a frame of the wrong shape is logged and ignored (the poll
        of /history, which has its own checks, still tells how the prompt ended)."""
        try:
            msg = json_loads(frame)
            kind, data = msg.get("type"), msg.get("data") or {}
        except (ValueError, AttributeError):
            return
        if not isinstance(data, dict) or data.get("prompt_id") != state.prompt_id:
            return  # other prompts, status frames, reconnect's bare {"node": ...}
        try:
            self._apply_frame(kind, data, state, on_progress)
        except (TypeError, AttributeError, ValueError, KeyError) as exc:
            log.warning("ignoring a malformed %r frame from %s (%s: %s)", kind, self.base_url,
                        type(exc).__name__, exc)

    def _apply_frame(self, kind: Any, data: dict, state: _State,
                     on_progress: Callable[[int, int], None] | None) -> None:
        state.last_news = time.monotonic()
        state.poll_every = self.poll_interval_s  # it is moving: back to the normal interval
        if kind == "execution_start":
            self._started(state, "running")
        elif kind == "execution_cached":
            state.cached = state.output_node in (data.get("nodes") or [])
        elif kind == "executing":
            if data.get("node") is None:
                state.done = True
            else:
                self._started(state, f"running node {data.get('node')}")
        elif kind == "executed":
            images = (data.get("output") or {}).get("images") if data.get("node") == state.output_node else None
            if images and isinstance(images, list):
                state.drop_prefetch()  # a node reports once; this only guards against a repeat
                state.prefetch = asyncio.ensure_future(self._download_items(images, state.deadline))
        elif kind == "execution_success":
            state.succeeded = True
            state.done = state.done or state.prefetch is not None
        elif kind == "progress" and on_progress is not None:
            value, maximum = int(data.get("value", 0)), int(data.get("max", 0))
            try:
                on_progress(value, maximum)
            except Exception:  # a display bug must not fail the generation
                log.exception("on_progress callback failed")
        elif kind == "execution_error":
            raise comfy_error(f"ComfyUI at {self.base_url}: {format_execution_error(data)}",
                              transient=True)
        elif kind == "execution_interrupted":
            raise _interrupted(self.base_url, state.prompt_id, data)

    def _started(self, state: _State, where: str) -> None:
        state.started_at = state.started_at or self.clock()
        state.where = where

    async def _poll(self, state: _State) -> None:
        """One look at /history (and /queue when history is empty); may finish or raise."""
        state.last_news = time.monotonic()
        entry = await self.history(state.prompt_id)
        if entry:
            self._check_history(entry, state)
            return
        if self._in_queue(await self._shared_queue(), state):
            return
        # Gone from the queue: history may have been written in between; look once more.
        entry = await self.history(state.prompt_id)
        if entry:
            self._check_history(entry, state)
            return
        # The shared snapshot may be up to one interval old: confirm with a fresh /queue.
        if self._in_queue(await self.queue(), state):
            return
        # Deleted prompts never reach history (recorded). Transient, unlike an interrupt:
        # a ComfyUI restart empties the queue the same way, and then a retry elsewhere helps.
        raise comfy_error(f"ComfyUI at {self.base_url}: prompt {state.prompt_id} vanished from "
                          f"the queue without a result (deleted by someone else, or the server "
                          f"restarted)", transient=True, kind="cancelled")

    def _in_queue(self, queue: dict, state: _State) -> bool:
        """True when `queue` has our prompt; sets how soon to poll it again."""
        if state.prompt_id in _queue_ids({"queue_running": queue.get("queue_running")}):
            state.poll_every = self.poll_interval_s
            if not state.where.startswith("running"):
                self._started(state, "running")
            return True
        if state.prompt_id in _queue_ids({"queue_pending": queue.get("queue_pending")}):
            # Still waiting its turn: look less often (its socket frames still arrive at once).
            state.poll_every = min(max(state.poll_every, self.poll_interval_s) * 2,
                                   max(MAX_PENDING_POLL_S, self.poll_interval_s))
            return True
        return False

    def _check_history(self, entry: dict, state: _State) -> None:
        """Finish or fail `state` from its history entry; an entry of the wrong shape is a
        transient error (retried once), never a crash."""
        try:
            self._apply_history(entry, state)
        except (TypeError, AttributeError, ValueError) as exc:
            raise comfy_error(f"ComfyUI at {self.base_url}: the history of prompt "
                              f"{state.prompt_id} is malformed ({type(exc).__name__}: {exc})",
                              transient=True) from None

    def _apply_history(self, entry: dict, state: _State) -> None:
        status = entry.get("status") or {}
        messages = status.get("messages") or []
        for name, data in messages:
            if name == "execution_error":
                raise comfy_error(f"ComfyUI at {self.base_url}: {format_execution_error(data)}",
                                  transient=True)
            if name == "execution_interrupted":
                raise _interrupted(self.base_url, state.prompt_id, data)
            if name == "execution_start":
                state.started_at = state.started_at or self.clock()
            if name == "execution_cached":
                state.cached = state.output_node in (data.get("nodes") or [])
        if status.get("status_str") == "error":
            raise comfy_error(f"ComfyUI at {self.base_url}: prompt {state.prompt_id} failed "
                              f"(history status 'error')", transient=True)
        if status.get("completed") or status.get("status_str") == "success" or entry.get("outputs"):
            state.done = True

    async def _finished_history(self, state: _State, deadline: float) -> dict:
        grace = min(deadline, time.monotonic() + HISTORY_GRACE_S)
        while True:
            entry = await self.history(state.prompt_id)
            if entry:
                self._check_history(entry, state)
                return entry
            if time.monotonic() >= grace:
                raise comfy_error(f"ComfyUI at {self.base_url}: prompt {state.prompt_id} "
                                  f"finished but has no history entry", transient=True)
            await asyncio.sleep(0.05)

    # -- downloads -------------------------------------------------------------------

    async def _download_outputs(self, entry: dict, output_node: str, prompt_id: str,
                                deadline: float) -> tuple[list[bytes], list[str]]:
        try:
            items = ((entry.get("outputs") or {}).get(output_node) or {}).get("images") or []
        except AttributeError:
            items = []
        if not isinstance(items, list):
            items = []
        if not items:
            produced = ", ".join(sorted((entry.get("outputs") or {}).keys())) or "none"
            raise comfy_error(f"ComfyUI at {self.base_url}: prompt {prompt_id} produced no "
                              f"images on output node {output_node} (nodes with output: "
                              f"{produced})", transient=False,
                              hint="check `output` in the workflow's bind file")
        return await self._download_items(items, deadline)

    async def _download_items(self, items: list, deadline: float) -> tuple[list[bytes], list[str]]:
        images, names = [], []
        for item in items:
            if not isinstance(item, dict):
                raise comfy_error(f"ComfyUI at {self.base_url}: output entry {item!r} is not an "
                                  f"image record", transient=True)
            images.append(await self.download(item, deadline=deadline))
            names.append(str(item.get("filename", "")))
        return images, names

    async def download(self, item: dict, *, deadline: float | None = None) -> bytes:
        """GET /view for one {filename, subfolder, type}; size-capped, finished by `deadline`
        (time.monotonic(); the client's timeout from now by default) and checked as an image.

        The deadline covers the whole download: a server that sends one byte a second never
        trips a read timeout, which restarts with every byte. The server's names go only into
        query parameters, never into a local path: what we write is named by the caller
        (vNN.png), so "../" in a hostile answer cannot escape.
        """
        params = {key: str(item.get(key, default)) for key, default in
                  (("filename", ""), ("subfolder", ""), ("type", "output"))}
        what = f"/view {params['filename']!r}"
        start = time.monotonic()
        deadline = start + self.timeout_s if deadline is None else deadline
        received: list[int] = [0]  # read by the timeout message
        try:
            async with asyncio.timeout(max(0.0, deadline - start)):
                data = await self._fetch_image(what, params, received)
        except TimeoutError:
            raise comfy_error(f"ComfyUI at {self.base_url}: download {what} did not finish "
                              f"within {deadline - start:.0f} s (timeout after {received[0]} bytes: "
                              f"the server sent it too slowly or stopped sending)",
                              transient=True, kind="timeout",
                              hint="check the server's network and disk, or raise the timeout") from None
        try:
            # a full decode takes milliseconds: off the event loop, so other jobs' frames flow
            await asyncio.to_thread(_check_image, data, MAX_IMAGE_PIXELS)
        except Exception as exc:  # Pillow raises many types for bad data
            raise comfy_error(f"ComfyUI at {self.base_url}: {what} is not a readable image "
                              f"({len(data)} bytes: {exc})", transient=True) from None
        return data

    async def _fetch_image(self, what: str, params: dict, received: list[int]) -> bytes:
        """The body of one /view answer, read up to the size cap; `received[0]` counts bytes."""
        try:
            async with self.http.stream("GET", self.base_url + "/view", params=params) as resp:
                if resp.status_code != 200:
                    raise comfy_error(f"ComfyUI at {self.base_url}: {what} answered HTTP "
                                      f"{resp.status_code}", transient=resp.status_code >= 500)
                declared = int(resp.headers.get("Content-Length") or 0)
                if declared > self.max_image_bytes:
                    raise self._too_big(what, declared)
                chunks = []
                async for chunk in resp.aiter_bytes():
                    received[0] += len(chunk)
                    if received[0] > self.max_image_bytes:
                        raise self._too_big(what, received[0])
                    chunks.append(chunk)
        except httpx.HTTPError as exc:
            # str() of httpx's timeouts is empty: name the kind so the message has a reason
            why = str(exc) or type(exc).__name__
            raise comfy_error(f"ComfyUI at {self.base_url}: download {what} failed after "
                              f"{received[0]} bytes: {why}", transient=True) from exc
        return b"".join(chunks)

    def _too_big(self, what: str, size: int) -> ComfyError:
        return comfy_error(f"ComfyUI at {self.base_url}: {what} is {size} bytes, over the "
                           f"{self.max_image_bytes} byte limit", transient=False)
