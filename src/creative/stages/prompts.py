"""Prompts stage: one text-free scene prompt per variant, with its seed, into prompts.json."""

from __future__ import annotations

import math

from creative.copy.prompts import build_prompts
from creative.core.models import Channel
from creative.gen.workflow import graph_sha256
from creative.run.context import RunContext
from creative.run.runlog import VariantRecord, sha256_file

# SDXL works best near one megapixel with sides in multiples of 64.
BACKGROUND_PIXELS = 1024 * 1024
SIDE_MULTIPLE = 64


def background_size(channel: Channel) -> tuple[int, int]:
    """Generation size for a channel: the first size's aspect at about one megapixel."""
    primary = channel.sizes[0]
    aspect = primary.width / primary.height
    width = math.sqrt(BACKGROUND_PIXELS * aspect)
    height = width / aspect
    return _round_side(width), _round_side(height)


def _round_side(value: float) -> int:
    return max(SIDE_MULTIPLE, int(round(value / SIDE_MULTIPLE)) * SIDE_MULTIPLE)


def run(ctx: RunContext) -> None:
    with ctx.stage("prompts"):
        width, height = background_size(ctx.channel)
        prompt_set = build_prompts(
            ctx.brief, variants=ctx.request.variants, width=width, height=height,
            palette_words=ctx.brand.palette_words, mood=ctx.brand.mood, seed=ctx.request.seed,
            new_seeds=ctx.request.new_seeds,
        )
        ctx.folder.write_prompts(prompt_set)
        workflow = ctx.workflow
        workflow_hash = sha256_file(workflow.path)
        ctx.runlog.variants = [
            VariantRecord(
                variant=p.variant, concept=p.concept, positive=p.positive, negative=p.negative, seed=p.seed,
                width=p.width, height=p.height, workflow=workflow.name, workflow_sha256=workflow_hash,
                graph_sha256=graph_sha256(workflow.apply(p.positive, p.negative, p.seed, p.width, p.height)),
            )
            for p in prompt_set.variants
        ]
        ctx.prompts = prompt_set
