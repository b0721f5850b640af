"""The base of every pydantic model of ours: unknown keys are an error, schemas built on first use."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Unknown keys are an error, not silently dropped.

    `defer_build`: a model's validator is built the first time it validates, not when its module
    is imported. A command uses a few of the dozens of models it imports (`creative brief` never
    validates a runlog's ad records), and building them all cost about 40 ms of every start."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
