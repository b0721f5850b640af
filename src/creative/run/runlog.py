"""runlog.json: what a run did, rewritten atomically after every stage."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from creative.core.atomic import write_atomic
from creative.core.models import AdRecord, Attempt, VideoRecord, WriterRecord
from creative.core.redact import redact_text
from creative.core.strict import Strict

RUNLOG_VERSION = 1
RunStatus = Literal["running", "ok", "partial", "failed", "cancelled", "refused", "drafted"]


class StageRecord(Strict):
    name: str
    started_at: float
    ended_at: float | None = None
    seconds: float | None = None
    outcome: Literal["running", "ok", "failed", "skipped"] = "running"
    error: str | None = None


class VariantRecord(Strict):
    variant: int
    concept: str
    positive: str
    negative: str
    seed: int
    width: int
    height: int
    workflow: str | None = None
    workflow_sha256: str | None = None
    graph_sha256: str | None = None
    status: Literal["pending", "ok", "failed"] = "pending"
    background: str | None = None
    background_sha256: str | None = None
    server: str | None = None
    prompt_ids: list[str] = Field(default_factory=list)
    attempts: list[Attempt] = Field(default_factory=list)
    cached: bool = False
    seconds: float | None = None
    error: str | None = None
    ads: list[AdRecord] = Field(default_factory=list)
    videos: list[VideoRecord] = Field(default_factory=list)
    cost_estimate_usd: float = 0.0
    cost_actual_usd: float = 0.0


class BudgetRecord(Strict):
    cap_usd: float
    spent_before_usd: float | None = None
    reserved_before_usd: float | None = None
    estimate_usd: float = 0.0
    actual_usd: float | None = None
    spent_after_usd: float | None = None


class RunLog(Strict):
    version: int = RUNLOG_VERSION
    run_id: str
    created_at: float = Field(default_factory=time.time)
    status: RunStatus = "running"
    pid: int | None = None  # the process working on the run (a "running" run whose process is gone was killed)
    exit_code: int | None = None
    message: str | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    input_hashes: dict[str, str] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict)
    stages: list[StageRecord] = Field(default_factory=list)
    variants: list[VariantRecord] = Field(default_factory=list)
    budget: BudgetRecord | None = None
    research_cost_usd: float = 0.0
    writer: WriterRecord | None = None  # the brief's copywriter: model, tokens, cost, cache hits
    encoder: dict[str, str] | None = None  # video encoder used and why: {"name": ..., "reason": ...}
    totals: dict[str, Any] = Field(default_factory=dict)
    history: list[dict[str, Any]] = Field(default_factory=list)  # resume, regen, compose: what changed when
    brand: dict[str, Any] | None = None  # the brand in use: name, folder, why it was chosen, sample or not
    warnings: list[str] = Field(default_factory=list)  # about the whole run, e.g. a page of another brand

    def variant(self, number: int) -> VariantRecord:
        for record in self.variants:
            if record.variant == number:
                return record
        raise KeyError(number)


def write_runlog(runlog: RunLog, path: Path) -> None:
    # Last line of defence: no secret reaches the runlog, whatever a stage put in it.
    write_atomic(path, redact_text(runlog.model_dump_json(indent=2)) + "\n")


def read_runlog(path: Path) -> RunLog:
    return RunLog.model_validate_json(Path(path).read_text(encoding="utf-8"))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
