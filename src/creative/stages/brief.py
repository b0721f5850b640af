"""Brief stage: draft brief.md from the research, or keep the hand-edited brief the user gave."""

from __future__ import annotations

from creative.copy.brief import check_policy
from creative.copy.llm_writer import write_brief
from creative.run.context import RunContext
from creative.run.runlog import sha256_file


def run(ctx: RunContext) -> None:
    source = ctx.request.brief_path
    if source is not None:
        with ctx.stage("brief", f"from {source}"):
            ctx.folder.copy_brief(source)
            ctx.runlog.input_hashes[ctx.folder.brief.name] = sha256_file(source)
        return
    with ctx.stage("brief", ctx.settings.brief.writer):
        # The rules drafter, or the copywriter model held to the same rules (tokens on their own ledger id,
        # so settling them never closes the run's open image reservation).
        brief, writer = write_brief(
            ctx.notes, brand=ctx.brand, channel_name=ctx.channel_name, channel=ctx.channel,
            offer=ctx.request.offer, settings=ctx.settings, ledger=ctx.ledger, ledger_id=f"{ctx.run_id}-brief",
            reporter=ctx.reporter, cache_dir=None if ctx.request.no_cache else ctx.runs.llm_cache,
        )
        ctx.runlog.writer = writer
        check_policy(brief, ctx.brand.banned_words)
        ctx.folder.write_brief(brief, writer)
        ctx.reporter.info(f"{len(brief.concepts)} concepts: " + ", ".join(c.name for c in brief.concepts))
        ctx.brief = brief


def check(ctx: RunContext) -> None:
    """A brief edited by hand since the run is held to the same policy before it is drawn again."""
    check_policy(ctx.brief, ctx.brand.banned_words)
