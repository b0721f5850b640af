"""The run context: one run folder, its runlog and what the stages have produced so far.

Commands build a context (a new run, or an existing run opened from its folder) and hand it to
a list of stages; each stage reads what it needs from the context and records itself through
`ctx.stage(name)`, which rewrites the runlog when the stage starts and when it ends.
"""

from __future__ import annotations

import os
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from creative.brand.kit import Brand, load_brand, load_channels
from creative.budget.ledger import Ledger, resolve_timezone
from creative.core.config import Settings
from creative.core.errors import InputError
from creative.core.models import Brief, Channel, PromptSet, ResearchNotes
from creative.core.progress import Reporter
from creative.gen.workflow import Workflow, default_workflow_path, load_workflow
from creative.run.folder import RunFolder, RunsRoot
from creative.run.runlog import RunLog, StageRecord

if TYPE_CHECKING:  # types only: the composer's engine and the GPU queue load with the stages that use them
    from concurrent.futures import ThreadPoolExecutor

    from creative.gen.queue import GpuQueue
    from creative.render.compose import AdComposer


@dataclass
class RunRequest:
    """What the user asked for on the command line."""

    channel: str | None = None
    url: str | None = None
    brief_path: Path | None = None
    offer: str | None = None
    variants: int | None = None
    seed: int | None = None
    new_seeds: bool = False
    no_cache: bool = False
    notes: ResearchNotes | None = None  # facts given (e.g. by a product feed): the page is not fetched


@dataclass
class Spend:
    """The run's hold on the budget: the ledger id it reserves under, and what to settle."""

    ledger_id: str
    reason: str = "estimate"
    reserved: bool = False
    carried: bool = False  # a crashed run's open reservation already covers this work
    actual: float | None = None  # what to settle; default: the whole run's actual cost
    already_settled: float = 0.0  # what earlier commands settled for this run (never counted twice)


@dataclass
class RunContext:
    """Everything the stages of one command share."""

    folder: RunFolder
    runlog: RunLog
    settings: Settings
    reporter: Reporter
    brand: Brand
    channel_name: str
    channel: Channel
    workflow: Workflow
    ledger: Ledger
    clock: Callable[[], float] = time.time
    request: RunRequest = field(default_factory=RunRequest)
    # Filled by the stages, or read from the folder when a run is continued.
    notes: ResearchNotes | None = None
    brief: Brief | None = None
    prompts: PromptSet | None = None
    brief_only: bool = False  # `creative brief`: research and a draft to edit, nothing to draw yet
    # What this command works on: None = every variant; export names its files with `name_id`.
    targets: list[int] | None = None
    name_id: str | None = None
    # Paid research reserved before it runs; the images' estimate is reserved by the budget stage.
    research_cost: float = 0.0
    spend: Spend | None = None
    # Resources that live as long as the command (e.g. the composer drawing ads during generation).
    resources: ExitStack = field(default_factory=ExitStack)
    composer: AdComposer | None = None
    # A batch's GPU queue and compose threads, shared by its products; None: the run's own.
    gpu: GpuQueue | None = None
    compose_pool: ThreadPoolExecutor | None = None

    @property
    def run_id(self) -> str:
        return self.runlog.run_id

    @property
    def runs(self) -> RunsRoot:
        return self.folder.root

    @property
    def cache_dir(self) -> Path | None:
        return None if self.request.no_cache else self.runs.cache

    def ok_variants(self) -> list[int]:
        """The variants this command works on that have a background."""
        wanted = self.targets
        return [v.variant for v in self.runlog.variants if v.status == "ok" and (wanted is None or v.variant in wanted)]

    def save(self) -> None:
        self.folder.write_runlog(self.runlog)

    @contextmanager
    def stage(self, name: str, detail: str = "") -> Iterator[StageRecord]:
        """Time a stage, record its outcome and rewrite the runlog when it starts and ends."""
        self.reporter.stage(name, detail)
        record = StageRecord(name=name, started_at=self.clock())
        self.runlog.stages.append(record)
        self.save()  # a crash inside the stage leaves it recorded as running
        try:
            yield record
        except BaseException as exc:
            record.outcome = "failed"
            record.error = getattr(exc, "message", None) or type(exc).__name__
            raise
        else:
            record.outcome = "ok"
        finally:
            record.ended_at = self.clock()
            record.seconds = round(record.ended_at - record.started_at, 4)
            self.save()


def ledger_for(settings: Settings, *, clock: Callable[[], float] = time.time) -> Ledger:
    """The budget ledger of the configured runs folder."""
    return Ledger(RunsRoot(settings.paths.runs_dir).ledger, cap=settings.budget.monthly_cap_usd,
                  tz=resolve_timezone(settings.budget.timezone), clock=clock)


def resolve_channel(channels: dict[str, Channel], name: str | None) -> Channel:
    if not name:
        raise InputError("no channel given", hint=f"pass --channel, one of: {', '.join(sorted(channels))}")
    if name not in channels:
        raise InputError(f"unknown channel {name!r}", hint=f"choose one of: {', '.join(sorted(channels))} (templates/channels.yaml)")
    return channels[name]


def load_run_workflow(settings: Settings) -> Workflow:
    """The configured workflow, or the default one from the templates."""
    path = Path(settings.comfyui.workflow) if settings.comfyui.workflow else default_workflow_path(settings.templates_dir)
    return load_workflow(path)


def open_run(run_dir: Path, settings: Settings, reporter: Reporter, *,
             clock: Callable[[], float] = time.time) -> RunContext:
    """An existing run folder as a context: its runlog, brief, prompts, channel and workflow."""
    folder = RunFolder(Path(run_dir))
    runlog = folder.read_runlog()
    runlog.pid = os.getpid()
    brief = folder.read_brief()
    prompts = folder.read_prompts()
    channel = resolve_channel(load_channels(settings.templates_dir / "channels.yaml"), brief.channel)
    workflow = load_workflow(Path(runlog.inputs.get("workflow") or settings.comfyui.workflow or
                                  default_workflow_path(settings.templates_dir)))
    return RunContext(folder=folder, runlog=runlog, settings=settings, reporter=reporter,
                      brand=load_brand(settings.brand_dir), channel_name=brief.channel, channel=channel,
                      workflow=workflow, ledger=ledger_for(settings, clock=clock), clock=clock,
                      brief=brief, prompts=prompts)
