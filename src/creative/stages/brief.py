"""Brief stage: draft brief.md from the research, or keep the hand-edited brief the user gave."""

from __future__ import annotations

from creative.copy.brief import check_policy
from creative.core.errors import InputError
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
        # The writers load with the stage that drafts (a run from a given brief never does).
        from creative.copy.llm_writer import write_brief

        # The rules drafter, or the copywriter model held to the same rules (tokens on their own ledger id,
        # so settling them never closes the run's open image reservation).
        brief, writer = write_brief(
            ctx.notes, brand=ctx.brand, channel_name=ctx.channel_name, channel=ctx.channel,
            offer=ctx.request.offer, settings=ctx.settings, ledger=ctx.ledger, ledger_id=f"{ctx.run_id}-brief",
            reporter=ctx.reporter, cache_dir=None if ctx.request.no_cache else ctx.runs.llm_cache,
            templates_dir=ctx.settings.templates_dir,  # the user's own phrase and scene files, when they have them
        )
        ctx.runlog.writer = writer
        # Written first: a draft the checks refuse is still there to edit and feed back with --brief.
        ctx.folder.write_brief(brief, writer)
        ctx.reporter.info(f"{len(brief.concepts)} concepts: " + ", ".join(c.name for c in brief.concepts))
        ctx.brief = brief
        try:
            check(ctx)
        except InputError as exc:
            if not ctx.brief_only:
                raise  # a run stops here, before anything is paid
            # `creative brief` only drafts: what a run would refuse is said, and the draft kept to edit.
            note = f"a run would refuse this brief as it is: {exc.message}"
            ctx.runlog.warnings.append(note)
            ctx.reporter.warn(f"{note} ({exc.hint})" if exc.hint else note)


def check(ctx: RunContext) -> None:
    """The checks before money: policy (avoid list, banned words), then every line fits its box at
    every size with a font for every glyph, and no scene asks for text."""
    from creative.copy.preflight import preflight  # fonts and Pillow's drawing, for the checks only

    check_policy(ctx.brief, ctx.brand.banned_words)
    preflight(ctx.brief, ctx.brand, ctx.settings.brand_dir, ctx.channel)
