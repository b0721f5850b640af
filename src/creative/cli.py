"""Command-line interface: parse options, call one function, print. No business logic here."""

# No `from __future__ import annotations` here: Typer reads every command's parameter types at each
# start, and annotations kept as strings would be evaluated again each time (half its set-up time).
import atexit
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Optional

import typer
from typer.core import TyperGroup

from creative.cli_help import APP_EXAMPLES, BRIEF_EXAMPLES, EXPORT_EXAMPLES, RunHelp
from creative.core.errors import EXIT_BUDGET, EXIT_CANCELLED, EXIT_FAILURE, EXIT_TERMINATED, CreativeError, Terminated
from creative.core.redact import RedactingFilter, redact_text


class _CreativeGroup(TyperGroup):
    """The top command group: our own errors end as one clear line and their exit code, never a traceback.

    Caught here rather than around `app()` so the console script and in-process callers
    (Typer's test runner) behave the same.
    """

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CreativeError as exc:
            _err(error_line(exc))
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt as exc:  # before a run folder existed: nothing to record or settle
            terminated = isinstance(exc, Terminated)
            _err("stopped by SIGTERM" if terminated else "cancelled (Ctrl-C)")
            raise typer.Exit(EXIT_TERMINATED if terminated else EXIT_CANCELLED) from None
        except Exception as exc:  # a bug: one line, unless a developer asks for the traceback
            # Usage errors, --help and exits belong to the command-line parser (Typer's own click).
            if os.environ.get(DEBUG_ENV) or type(exc).__module__.startswith(("typer", "click")):
                raise
            _err(error_line(exc))
            raise typer.Exit(EXIT_FAILURE) from None


app = typer.Typer(
    cls=_CreativeGroup,
    help="Turn a product page into ready-to-upload, on-brand ad creatives.",
    epilog=APP_EXAMPLES,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

BRAND_HELP = "Brand to use: a folder in brands/ or the name in its brand.yaml (see `creative brand list`)."
WRITER_HELP = ("Who writes the brief's copy: rules (the built-in drafter) or llm (brief.llm in creative.yaml; "
               "if the model fails, exit 1 instead of falling back to rules).")
DEBUG_ENV = "CREATIVE_DEBUG"  # set to print the traceback of an unexpected error


def _err(message: str) -> None:
    typer.echo(message, err=True)


def make_reporter(quiet: bool):
    """Progress on stderr: the rich display on a terminal (or with FORCE_COLOR), plain lines when
    stderr is piped or logged, nothing when quiet. Only the terminal display imports rich."""
    from creative.core.progress import LineReporter, Reporter

    if quiet:
        return Reporter()
    if not (sys.stderr.isatty() or os.environ.get("FORCE_COLOR")):
        return LineReporter(sys.stderr)
    from rich.console import Console

    from creative.console import ConsoleReporter

    # soft_wrap: a warning stays one line however narrow the terminal (a pipe is 80 columns to rich)
    return ConsoleReporter(Console(file=sys.stderr, highlight=False, soft_wrap=True))


@app.command(cls=RunHelp)
def run(
    url: Optional[str] = typer.Option(None, "--url", help="Product page URL or local HTML file."),
    channel: Optional[str] = typer.Option(None, "--channel", help="Channel from templates/channels.yaml, e.g. meta_static."),
    offer: Optional[str] = typer.Option(None, "--offer", help='Offer to feature, e.g. "Buy 2 get 1".'),
    brief: Optional[Path] = typer.Option(None, "--brief", help="Start from a (hand-edited) brief.md instead of a URL."),
    variants: Optional[int] = typer.Option(None, "--variants", min=1, max=100, help="Number of variants (default 6)."),
    comfy_url: Optional[list[str]] = typer.Option(None, "--comfy-url", help="ComfyUI server; repeat for several."),
    workflow: Optional[Path] = typer.Option(None, "--workflow", help="API-format workflow JSON with a .bind.yaml beside it."),
    runs_dir: Optional[Path] = typer.Option(None, "--runs-dir", help="Where run folders go (default runs/)."),
    brand: Optional[str] = typer.Option(None, "--brand", help=BRAND_HELP),
    config: Optional[Path] = typer.Option(None, "--config", help="Settings file (default ./creative.yaml)."),
    seed: Optional[int] = typer.Option(None, "--seed", min=0, help="Base seed: variant N gets seed + N - 1."),
    new_seeds: bool = typer.Option(False, "--new-seeds", help="Random seeds instead of seeds derived from the brief."),
    research_backend: Optional[str] = typer.Option(None, "--research", help="Research backend: auto, static, browser or firecrawl."),
    ignore_robots: bool = typer.Option(False, "--ignore-robots", help="Fetch pages even where robots.txt disallows it."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Generate even when an identical graph is cached."),
    encoder: Optional[str] = typer.Option(None, "--encoder", help="Video encoder: auto (NVENC if a test encode works), nvenc or x264."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress on stderr."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the estimate and whether the budget allows it; spend nothing."),
    writer: Optional[str] = typer.Option(None, "--writer", help=WRITER_HELP),
) -> None:
    """Research a page, write a brief, generate backgrounds and compose the ads."""
    from creative.commands.run import run as run_command
    from creative.run.context import RunRequest
    from creative.run.plan import dry_run as plan_dry_run

    settings = _settings(config, runs_dir=runs_dir, comfy_url=comfy_url, research_backend=research_backend,
                         ignore_robots=ignore_robots, workflow=workflow, encoder=encoder, brand=brand or "", writer=writer)
    options = RunRequest(channel=channel, url=url, brief_path=brief, offer=offer, variants=variants, seed=seed, new_seeds=new_seeds, no_cache=no_cache)
    if dry_run:
        verdict = plan_dry_run(options, settings)
        _sample_brand_note(settings, quiet)
        typer.echo(json.dumps(verdict, indent=2))
        _err(("allowed" if verdict["allowed"] else "would be refused") + f": estimate ${verdict['estimate_usd']:.2f}, "
             f"${verdict['committed_usd']:.2f} of ${verdict['cap_usd']:.2f} already committed this month")
        raise typer.Exit(0 if verdict["allowed"] else EXIT_BUDGET)
    _finish(run_command(options, settings, make_reporter(quiet)), quiet)


def _finish(result, quiet: bool, extra: str = "") -> None:
    """Report a finished run: message on stderr, the run folder as the last line on stdout."""
    if result.exit_code:
        _err(f"error: {result.message}")
    elif not quiet:
        _err(f"done: {result.message}{extra}")
    typer.echo(str(result.run_dir))
    raise typer.Exit(result.exit_code)


@app.command(epilog=BRIEF_EXAMPLES)
def brief(
    url: str = typer.Option(..., "--url", help="Product page URL or local HTML file."),
    channel: str = typer.Option(..., "--channel", help="Channel from templates/channels.yaml."),
    offer: Optional[str] = typer.Option(None, "--offer", help="Offer to feature."),
    research_backend: Optional[str] = typer.Option(None, "--research", help="auto, static, browser or firecrawl."),
    ignore_robots: bool = typer.Option(False, "--ignore-robots"),
    runs_dir: Optional[Path] = typer.Option(None, "--runs-dir"),
    brand: Optional[str] = typer.Option(None, "--brand", help=BRAND_HELP),
    config: Optional[Path] = typer.Option(None, "--config"),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
    writer: Optional[str] = typer.Option(None, "--writer", help=WRITER_HELP),
) -> None:
    """Research a page and draft brief.md only; edit it, then `creative run --brief FILE`."""
    from creative.commands.brief import draft
    from creative.run.context import RunRequest

    settings = _settings(config, runs_dir=runs_dir, research_backend=research_backend, ignore_robots=ignore_robots,
                         brand=brand or "", writer=writer)
    brief_path = draft(RunRequest(channel=channel, url=url, offer=offer), settings, make_reporter(quiet))
    if not quiet:
        _err(f"edit {brief_path}, then: creative run --brief {brief_path}")
    typer.echo(str(brief_path))


@app.command()
def resume(
    run_dir: Path = typer.Argument(..., help="Run folder of a crashed or cancelled run."),
    comfy_url: Optional[list[str]] = typer.Option(None, "--comfy-url", help="ComfyUI server; repeat for several."),
    brand: Optional[str] = typer.Option(None, "--brand", help=BRAND_HELP),
    config: Optional[Path] = typer.Option(None, "--config"),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Finish a run, reusing every background already on disk, and settle its budget."""
    from creative.commands.resume import resume as resume_run

    settings = _settings(config, runs_dir=run_dir.resolve().parent, comfy_url=comfy_url, brand=brand or "", run_dir=run_dir)
    _finish(resume_run(run_dir, settings, make_reporter(quiet)), quiet)


@app.command()
def regen(
    run_dir: Path = typer.Argument(..., help="Run folder."),
    variant: int = typer.Option(..., "--variant", min=1, help="Variant number to regenerate."),
    seed: Optional[int] = typer.Option(None, "--seed", min=0, help="Seed to use (default: keep the variant's seed)."),
    new_seed: bool = typer.Option(False, "--new-seed", help="Pick a new random seed."),
    prompt: Optional[str] = typer.Option(None, "--prompt", help="Replace the variant's scene prompt."),
    comfy_url: Optional[list[str]] = typer.Option(None, "--comfy-url"),
    brand: Optional[str] = typer.Option(None, "--brand", help=BRAND_HELP),
    config: Optional[Path] = typer.Option(None, "--config"),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Regenerate one variant, re-compose and re-export it, and record the change in the runlog."""
    from creative.core.errors import InputError
    from creative.commands.regen import regen as regen_variant

    if seed is not None and new_seed:
        raise InputError("--seed and --new-seed cannot be used together")
    settings = _settings(config, runs_dir=run_dir.resolve().parent, comfy_url=comfy_url, brand=brand or "", run_dir=run_dir)
    _finish(regen_variant(run_dir, settings, make_reporter(quiet), variant, seed=seed, new_seed=new_seed, prompt=prompt), quiet)


@app.command()
def compose(
    run_dir: Path = typer.Argument(..., help="Run folder to re-render."),
    brand: Optional[str] = typer.Option(None, "--brand", help=BRAND_HELP),
    config: Optional[Path] = typer.Option(None, "--config"),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Re-render a run's ads after brand/ or brief.md was edited (no ComfyUI, no cost)."""
    from creative.commands.compose import recompose

    settings = _settings(config, runs_dir=run_dir.resolve().parent, brand=brand or "", run_dir=run_dir)
    _finish(recompose(run_dir, settings, make_reporter(quiet)), quiet)


@app.command("export", epilog=EXPORT_EXAMPLES)
def export(
    run_dir: Path = typer.Argument(..., help="Run folder to export for another channel."),
    channel: str = typer.Option(..., "--channel", help="Channel from templates/channels.yaml, e.g. tiktok."),
    encoder: Optional[str] = typer.Option(None, "--encoder", help="Video encoder: auto, nvenc or x264."),
    brand: Optional[str] = typer.Option(None, "--brand", help=BRAND_HELP),
    config: Optional[Path] = typer.Option(None, "--config"),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Lay out an existing run's backgrounds for another channel (no generation, no cost).

    Exits 2 naming the sizes its backgrounds cannot serve (cover-crop would keep under 70%).
    """
    from creative.commands.export import reexport

    settings = _settings(config, runs_dir=run_dir.resolve().parent, encoder=encoder, brand=brand or "", run_dir=run_dir)
    _finish(reexport(run_dir, channel, settings, make_reporter(quiet)), quiet)


layout_app = typer.Typer(help="Brand layouts in brand/layouts/.", no_args_is_help=True)
app.add_typer(layout_app, name="layout")


@layout_app.command("preview")
def layout_preview(
    layout: str = typer.Option(..., "--layout", help="Layout name, e.g. 4x5 (brand/layouts/4x5.yaml)."),
    background: Optional[Path] = typer.Option(None, "--background", help="Image to preview the layout over."),
    channel: Optional[str] = typer.Option(None, "--channel", help="Take size and safe zone from this channel."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="PNG to write (default: layout-preview-<layout>-<W>x<H>.png)."),
    brand: Optional[str] = typer.Option(None, "--brand", help=BRAND_HELP),
    config: Optional[Path] = typer.Option(None, "--config"),
) -> None:
    """Draw a layout's boxes, the safe zone and sample copy into a PNG."""
    from creative.brand.kit import load_channels
    from creative.render.layout_preview import (
        default_preview_path,
        preview_target,
        render_layout_preview,
        save_preview,
    )

    settings = _settings(config, brand=brand or "")
    channels_path = settings.templates_dir / "channels.yaml"
    size, zone = preview_target(load_channels(channels_path), layout, channel)
    image = render_layout_preview(settings.brand_dir, layout, size=size, safe_zone=zone, background=background)
    typer.echo(str(save_preview(image, out or default_preview_path(layout, size))))


brand_app = typer.Typer(help="Brand kits: brands/<name>/ (or a single brand/).", no_args_is_help=True)
app.add_typer(brand_app, name="brand")


@brand_app.command("init")
def brand_init(
    url: str = typer.Option(..., "--url", help="The brand's own site (home page), http(s)://."),
    out: Optional[Path] = typer.Option(None, "--out", help="Brand folder to write (default brands/<name>/)."),
    force: bool = typer.Option(False, "--force", help="Replace the folder if it exists."),
    research_backend: Optional[str] = typer.Option(None, "--research", help="static (default) or browser."),
    ignore_robots: bool = typer.Option(False, "--ignore-robots", help="Fetch pages even where robots.txt disallows it."),
    config: Optional[Path] = typer.Option(None, "--config"),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Build a brand folder from a site: name, logo, palette, fonts, voice; brand.yaml and brand_preview.png."""
    from creative.commands.brand import init_brand

    settings = _settings(config, research_backend=research_backend, ignore_robots=ignore_robots)
    result, lines = init_brand(url, settings, out=out, force=force, research=research_backend)
    if not quiet:
        for line in lines:
            _err(line)
    typer.echo(str(result.folder))


@brand_app.command("list")
def brand_list(config: Optional[Path] = typer.Option(None, "--config")) -> None:
    """The brands a run can use, and the one it uses now."""
    from creative.commands.brand import list_brands

    rows, why = list_brands(_settings(config))
    for row in rows:
        mark = "*" if row.in_use else " "
        typer.echo(f"{mark} {row.folder.name:<24} {row.name}{' (bundled sample)' if row.sample else ''}")
    _err(why)


def _sample_brand_note(settings, quiet: bool) -> None:
    """On the first run with the bundled sample brand, say how to make one's own."""
    from creative.brand.select import resolve_brand
    from creative.run.brands import sample_hint
    from creative.run.folder import RunsRoot

    hint = sample_hint(resolve_brand(settings), RunsRoot(settings.paths.runs_dir))
    if hint and not quiet:
        _err(f"note: {hint}")


def _settings(config: Optional[Path], *, runs_dir: Optional[Path] = None, comfy_url: Optional[list[str]] = None,
              research_backend: Optional[str] = None, ignore_robots: bool = False, workflow: Optional[Path] = None,
              encoder: Optional[str] = None, brand: Optional[str] = None, run_dir: Optional[Path] = None,
              writer: Optional[str] = None):
    """Settings with the flags a command was given laid over config file and environment.

    brand: None for commands that draw nothing; "" (no --brand) or a name resolves the brand folder
    (for a command on `run_dir`, the brand that run was made with, unless --brand names another).
    """
    # Settings are pydantic models: loaded by the commands that read them, not by --help.
    from creative.core.config import load_settings

    settings = load_settings(config, overrides={
        "brief.writer": writer,
        "brief.llm_required": (writer == "llm") or None,  # an explicit --writer llm must not fall back
        "paths.runs_dir": str(runs_dir) if runs_dir else None,
        "comfyui.urls": comfy_url or None,
        "comfyui.backends": [] if comfy_url else None,  # servers named on the command line replace the config's
        "comfyui.workflow": str(workflow) if workflow else None,
        "research.backend": research_backend,
        "research.ignore_robots": ignore_robots or None,
        "encoder": encoder,
    })
    if brand is not None:
        from creative.brand.select import use_brand
        from creative.run.brands import brand_of_run
        from creative.run.folder import RunFolder

        use_brand(settings, brand or None, brand_of_run(RunFolder(run_dir)) if run_dir is not None else None)
    return settings


@app.command("mock-comfy")
def mock_comfy(
    port: int = typer.Option(8188, "--port", help="Port to listen on."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind."),
    latency: float = typer.Option(0.0, "--latency", min=0.0, help="Seconds each prompt takes to 'execute'."),
) -> None:
    """Serve a mock ComfyUI (same routes, frames and errors as the real one) for tests and demos."""
    from creative.mock.comfy import MockOptions, serve

    serve(host, port, MockOptions(latency=latency),
          on_listening=lambda: _err(f"mock ComfyUI on http://{host}:{port} (latency {latency:g}s); Ctrl-C to stop"))


@app.command("mock-llm")
def mock_llm(
    port: int = typer.Option(11434, "--port", help="Port to listen on (base_url http://HOST:PORT/v1)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind."),
    mode: str = typer.Option("good", "--mode", help="good, rule-breaking, broken-json, other-language, slow, "
                                                    "no-schema, 401, 429 or 500."),
    delay: float = typer.Option(2.0, "--delay", min=0.0, help="Seconds a slow answer takes (--mode slow)."),
) -> None:
    """Serve a mock OpenAI-compatible chat endpoint that writes brief copy, for tests and demos."""
    from creative.core.errors import InputError
    from creative.mock.openai import MODES, LlmMockOptions, serve

    if mode not in MODES:
        raise InputError(f"unknown --mode {mode!r}", hint="choose one of: " + ", ".join(MODES))
    _err(f"mock chat endpoint on http://{host}:{port}/v1 (mode {mode}); Ctrl-C to stop")
    serve(host, port, LlmMockOptions(mode=mode, delay_s=delay))


@app.command("mock-runpod")
def mock_runpod(
    port: int = typer.Option(8189, "--port", help="Port to listen on."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind."),
    workers: int = typer.Option(1, "--workers", min=1, max=32, help="Workers (each a mock ComfyUI) sharing the queue."),
    cold_start: float = typer.Option(0.0, "--cold-start", min=0.0, help="Seconds a cold worker needs before its first job."),
    latency: float = typer.Option(0.0, "--latency", min=0.0, help="Seconds of execution per image."),
    api_key: str = typer.Option("test-key", "--api-key", help="The API key the endpoint accepts."),
    endpoint_id: str = typer.Option("mock-endpoint", "--endpoint-id", help="The endpoint id in /v2/<id>/..."),
    fail_first: int = typer.Option(0, "--fail-first", min=0, help="The first N jobs fail."),
    rate_limit_every: int = typer.Option(0, "--rate-limit-every", min=0, help="Every Nth request answers 429."),
    s3: bool = typer.Option(False, "--s3", help="Images as s3_url links instead of base64."),
) -> None:
    """Serve a mock RunPod serverless endpoint (worker-comfyui API) over mock ComfyUI workers."""
    from creative.mock.runpod import RunPodOptions, serve

    _err(f"mock RunPod endpoint {endpoint_id} on http://{host}:{port} ({workers} worker(s)); Ctrl-C to stop")
    serve(host, port, RunPodOptions(endpoint_id=endpoint_id, api_key=api_key, workers=workers, latency=latency,
                                    cold_start=cold_start, fail_first=fail_first, rate_limit_every=rate_limit_every,
                                    s3=s3))


@app.command()
def demo(
    runs_dir: Optional[Path] = typer.Option(None, "--runs-dir", help="Where the run folder goes (default runs/)."),
    latency: float = typer.Option(0.5, "--latency", min=0.0, help="Mock generation time per image, seconds."),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Start a mock ComfyUI and run the whole pipeline on the bundled sample product page."""
    from creative.mock.comfy import MockOptions, MockServer
    from creative.commands.run import run as run_command
    from creative.core.config import SOURCE_ROOT, load_settings
    from creative.run.context import RunRequest

    with MockServer(MockOptions(latency=latency)) as server:
        settings = load_settings(None, overrides={
            "comfyui.urls": [server.url],
            "paths.runs_dir": str(runs_dir) if runs_dir else None,
        })
        options = RunRequest(channel="meta_static", url=str(SOURCE_ROOT / "examples" / "serum.html"), offer="Buy 2 get 1")
        result = run_command(options, settings, make_reporter(quiet))
    from creative.run.folder import RunFolder

    _finish(result, quiet, f"; open {RunFolder(result.run_dir).gallery} to pick your favourites")


batch_app = typer.Typer(help="Ads for every product of a feed; `batch resume` finishes a stopped batch.",
                        invoke_without_command=True, no_args_is_help=False)
app.add_typer(batch_app, name="batch")


@batch_app.callback()
def batch(
    ctx: typer.Context,
    feed: Optional[str] = typer.Option(None, "--feed", help="Merchant Center RSS/Atom, Meta CSV/TSV, Shopify products.json or a URL list (file or URL)."),
    channel: Optional[str] = typer.Option(None, "--channel", help="Channel from templates/channels.yaml."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="At most N products."),
    only: Optional[list[str]] = typer.Option(None, "--only", help="Only this product id; repeat for several."),
    offer: Optional[str] = typer.Option(None, "--offer", help="Offer to feature on every product's ads."),
    variants: Optional[int] = typer.Option(None, "--variants", min=1, max=100, help="Variants per product."),
    store_url: Optional[str] = typer.Option(None, "--store-url", help="The store's address, for a products.json read from a file."),
    comfy_url: Optional[list[str]] = typer.Option(None, "--comfy-url", help="ComfyUI server; repeat for several."),
    runs_dir: Optional[Path] = typer.Option(None, "--runs-dir", help="Where run folders go (default runs/)."),
    config: Optional[Path] = typer.Option(None, "--config", help="Settings file (default ./creative.yaml)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress on stderr."),
) -> None:
    """Make ads for every product of a feed, each in its own run folder."""
    if ctx.invoked_subcommand is not None:
        return
    from creative.commands.batch import BatchRequest, start

    if not feed or not channel:
        raise typer.BadParameter("pass --feed FILE_OR_URL and --channel CH (or `creative batch resume BATCH`)")
    settings = _settings(config, runs_dir=runs_dir, comfy_url=comfy_url)
    request = BatchRequest(feed=feed, channel=channel, limit=limit, only=list(only or []), offer=offer,
                           variants=variants, store_url=store_url)
    _finish_batch(*start(request, settings, make_reporter(quiet)))


@batch_app.command("resume")
def batch_resume(
    batch_dir: Path = typer.Argument(..., help="The batch folder `creative batch` printed."),
    comfy_url: Optional[list[str]] = typer.Option(None, "--comfy-url", help="ComfyUI server; repeat for several."),
    config: Optional[Path] = typer.Option(None, "--config", help="Settings file (default ./creative.yaml)."),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Finish a batch that was killed or cancelled: products done are kept, the others are run."""
    from creative.commands.batch import resume

    settings = _settings(config, runs_dir=batch_dir.resolve().parent.parent, comfy_url=comfy_url)
    _finish_batch(*resume(batch_dir, settings, make_reporter(quiet)))


def _finish_batch(folder, state) -> None:
    from creative.run.batch import summary

    code, line = summary(state)
    _err(("done: " if code == 0 else "error: ") + line + f"; gallery {folder.gallery}, CSV {folder.upload_csv}")
    typer.echo(str(folder.path))
    raise typer.Exit(code)


budget_app = typer.Typer(help="This month's spend against the cap.", invoke_without_command=True, no_args_is_help=False)
app.add_typer(budget_app, name="budget")


@budget_app.callback()
def budget(
    ctx: typer.Context,
    config: Optional[Path] = typer.Option(None, "--config", help="Settings file (default ./creative.yaml)."),
    runs_dir: Optional[Path] = typer.Option(None, "--runs-dir", help="Runs folder holding budget.jsonl."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Show cap, settled, reserved and remaining for this month, spend per backend, and the runs."""
    if ctx.invoked_subcommand is not None:
        return
    from creative.budget.ledger import budget_summary
    from creative.cli_tables import print_budget

    from creative.run.folder import RunsRoot
    from creative.run.spend import spend_by_backend

    ledger = _ledger(config, runs_dir)
    summary = budget_summary(ledger.state())
    summary["by_backend"] = spend_by_backend(RunsRoot(ledger.path.parent), [r["run_id"] for r in summary["runs"]])
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        print_budget(summary, ledger.path)


@budget_app.command("release")
def budget_release(
    run_dir: Path = typer.Argument(..., help="Run folder whose reservation to release."),
    config: Optional[Path] = typer.Option(None, "--config"),
) -> None:
    """Release the open reservation of a run that will not be resumed."""
    from creative.run.folder import RunFolder

    runs_dir = run_dir.resolve().parent
    run_id = RunFolder(run_dir).run_id()
    ledger = _ledger(config, runs_dir)
    state = ledger.state()
    spend = state.runs.get(run_id)
    if spend is None or spend.open_reservation == 0:
        raise CreativeError(f"run {run_id} has no open reservation this month in {ledger.path}")
    ledger.release(run_id, reason="released by the user")
    _err(f"released ${spend.open_reservation:.2f} reserved by {run_id}")


def _ledger(config: Optional[Path], runs_dir: Optional[Path]):
    from creative.run.context import ledger_for

    return ledger_for(_settings(config, runs_dir=runs_dir))


runs_app = typer.Typer(help="Past runs, read from their runlogs.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")


@runs_app.command("list")
def runs_list(
    runs_dir: Optional[Path] = typer.Option(None, "--runs-dir", help="Runs folder (default runs/)."),
    config: Optional[Path] = typer.Option(None, "--config"),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """One line per run: id, date, channel, variants ok/failed, cost, time."""
    from dataclasses import asdict

    from creative.cli_tables import print_runs
    from creative.run.index import list_runs

    settings = _settings(config, runs_dir=runs_dir)
    runs = list_runs(settings.paths.runs_dir)
    if as_json:
        typer.echo(json.dumps([{**asdict(r), "run_dir": str(r.run_dir)} for r in runs], indent=2))
    else:
        print_runs(runs)


@runs_app.command("show")
def runs_show(run_dir: Path = typer.Argument(..., help="A run folder.")) -> None:
    """Print a run's runlog (whatever version wrote it)."""
    from creative.run.index import load_raw_runlog, summarize

    data, problem = load_raw_runlog(run_dir)
    if data is None:
        raise CreativeError(f"{run_dir}: {problem}")
    summary = summarize(run_dir)
    if summary.problem:
        _err(f"note: {summary.problem}")
    typer.echo(json.dumps(data, indent=2))


results_app = typer.Typer(help="Ad results from Meta, TikTok and Google Ads exports, joined to the variants.", no_args_is_help=True)
app.add_typer(results_app, name="results")


@results_app.command("import")
def results_import(
    files: list[Path] = typer.Argument(..., help="Exports (CSV or XLSX) as downloaded from the ads manager."),
    platform: str = typer.Option("auto", "--platform", help="meta, tiktok, google or auto (from the headers)."),
    experiment: Optional[str] = typer.Option(None, "--experiment", help="Check the files' currency against this experiment."),
    currency: Optional[str] = typer.Option(None, "--currency", help="Currency when the file names none, e.g. USD."),
    columns: Optional[Path] = typer.Option(None, "--columns", help="YAML mapping of fields to headers for other exports."),
    ad_map: Optional[Path] = typer.Option(None, "--ad-map", help="CSV with columns 'ad name','file' for renamed ads."),
    runs_dir: Optional[Path] = typer.Option(None, "--runs-dir", help="Runs folder (default runs/)."),
    config: Optional[Path] = typer.Option(None, "--config"),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Import exports: all files or nothing; the same file twice changes nothing; unmatched ads are listed."""
    from dataclasses import asdict

    from creative.cli_tables import _console
    from creative.commands.results import import_results, print_import

    reports = import_results(_settings(config, runs_dir=runs_dir), files, platform=platform, experiment=experiment,
                             currency=currency, columns=columns, ad_map=ad_map)
    if as_json:
        typer.echo(json.dumps([asdict(r) for r in reports], indent=2))
    else:
        print_import(reports, _console())


@results_app.command("show")
def results_show(
    run: Optional[str] = typer.Argument(None, help="Run id or folder (default: every run with results)."),
    experiment: Optional[str] = typer.Option(None, "--experiment", help="An experiment's variants, baseline and arms."),
    metric: Optional[str] = typer.Option(None, "--metric", help="cpa, ctr or cpc (default: experiment.metric in creative.yaml)."),
    runs_dir: Optional[Path] = typer.Option(None, "--runs-dir", help="Runs folder (default runs/)."),
    config: Optional[Path] = typer.Option(None, "--config"),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Per variant, concept and run: spend, CTR, CPC, CVR, CPA, ROAS, thumb-stop with 95% intervals, and the best."""
    from creative.cli_tables import _console
    from creative.commands.results import print_view, show_results
    from creative.core.errors import InputError

    if metric is not None and metric not in ("cpa", "ctr", "cpc"):
        raise InputError(f"--metric {metric!r}: use cpa, ctr or cpc")
    view = show_results(_settings(config, runs_dir=runs_dir), run, experiment, metric)
    if as_json:
        typer.echo(json.dumps(view, indent=2))
    else:
        print_view(view, _console())


experiment_app = typer.Typer(help="Keep or kill: a manual baseline (A) against creative's runs (B).", no_args_is_help=True)
app.add_typer(experiment_app, name="experiment")


@experiment_app.command("new")
def experiment_new(
    name: str = typer.Argument(..., help="Experiment name."),
    baseline_minutes: float = typer.Option(..., "--baseline-minutes", min=0.01, help="Minutes the manual baseline took to make its variants."),
    baseline_variants: Optional[int] = typer.Option(None, "--baseline-variants", min=1, help="Variants the baseline made (default: its labelled ads)."),
    currency: Optional[str] = typer.Option(None, "--currency", help="Results currency (default: the first import's)."),
    runs_dir: Optional[Path] = typer.Option(None, "--runs-dir", help="Runs folder (default runs/)."),
    config: Optional[Path] = typer.Option(None, "--config"),
) -> None:
    """Start an experiment, recording the manual baseline's time."""
    from creative.commands.experiment import new_experiment

    new_experiment(_settings(config, runs_dir=runs_dir), name, baseline_minutes, baseline_variants, currency)
    _err(f"experiment {name} created; add campaigns: creative experiment add {name} --campaign C --run RUN_ID --baseline-ad 'Ad name'")


@experiment_app.command("add")
def experiment_add(
    name: str = typer.Argument(..., help="Experiment name."),
    campaign: str = typer.Option(..., "--campaign", help="Campaign the runs and baseline ads ran in."),
    run: Optional[list[str]] = typer.Option(None, "--run", help="Run id of creative's set (B); repeat for several."),
    baseline_ad: Optional[list[str]] = typer.Option(None, "--baseline-ad", help="Ad name of a manual ad (A); repeat."),
    runs_dir: Optional[Path] = typer.Option(None, "--runs-dir", help="Runs folder (default runs/)."),
    config: Optional[Path] = typer.Option(None, "--config"),
) -> None:
    """Add a campaign's runs (B) and labelled baseline ads (A)."""
    from creative.commands.experiment import add_to_experiment

    counts = add_to_experiment(_settings(config, runs_dir=runs_dir), name, campaign, run or [], baseline_ad or [])
    _err(f"experiment {name}: {counts['runs']} runs, {counts['baseline_ads']} baseline ads")


@experiment_app.command("report")
def experiment_report(
    name: str = typer.Argument(..., help="Experiment name."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for report.html and charts (default reports/NAME)."),
    runs_dir: Optional[Path] = typer.Option(None, "--runs-dir", help="Runs folder (default runs/)."),
    config: Optional[Path] = typer.Option(None, "--config"),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Keep, kill, pause or not enough data, with the numbers behind it; writes an HTML page and PNG charts."""
    from creative.cli_tables import _console
    from creative.commands.experiment import print_report, report

    numbers, page = report(_settings(config, runs_dir=runs_dir), name, out)
    if as_json:
        typer.echo(json.dumps({**numbers, "page": str(page)}, indent=2))
    else:
        print_report(numbers, page, _console())


runlog_app = typer.Typer(help="The runlog.json format.", no_args_is_help=True)
app.add_typer(runlog_app, name="runlog")


@runlog_app.command("schema")
def runlog_schema(
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="File to write the schema to (default: stdout)."),
) -> None:
    """Print the JSON Schema of runlog.json, or write it to a file with -o."""
    from creative.core.atomic import write_atomic
    from creative.run.runlog import RunLog

    schema = json.dumps(RunLog.model_json_schema(), indent=2)
    if out is None:
        typer.echo(schema)
        return
    write_atomic(out, schema + "\n")
    typer.echo(str(out))


def main() -> None:
    """Console-script entry: redacted logging on stderr, then the app.

    Typer handles usage errors itself (exit 2); our own errors carry their exit code (_CreativeGroup).
    """
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter())
        handler.addFilter(_once())
    signal.signal(signal.SIGTERM, _terminate)
    app()  # our own errors, interrupts and bugs are reported by _CreativeGroup, one line each


def error_line(exc: BaseException) -> str:
    """The one line a failure prints: our errors' message and hint, or a bug's type and text."""
    if isinstance(exc, CreativeError):
        return f"error: {redact_text(exc.user_message())}"
    text = " ".join(str(exc).split())[:300]
    return (f"error: unexpected {type(exc).__name__}: {redact_text(text)} — "
            f"set {DEBUG_ENV}=1 to see the traceback, and please report it")


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM unwinds like Ctrl-C: prompts cancelled, runlog closed, budget settled."""
    raise Terminated()


def _once() -> logging.Filter:
    """A log filter that lets each distinct message through once (six variants, one warning)."""
    seen: set[str] = set()

    def first_time(record: logging.LogRecord) -> bool:
        record.levelname = record.levelname.lower()
        message = record.getMessage()
        if message in seen:
            return False
        seen.add(message)
        return True

    return first_time  # type: ignore[return-value]


def entry() -> None:
    """The `creative` command and `python -m creative`: main(), then a fast exit.

    Output is flushed and every atexit handler runs (logging, thread pools); only the
    interpreter's teardown of its modules is skipped. That teardown (every pydantic model,
    Pillow, httpx, ...) took about 0.13 s, longer than most stages of a run. Under a profiler
    or coverage the exit is the normal one, so they can write their reports after main().
    Tests call main() in-process and are not affected.
    """
    if sys.gettrace() is not None or sys.getprofile() is not None:
        main()  # a profiler or coverage writes its report at the normal exit
        return
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = _exit_status(exc.code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`creative ... | head`) has nothing to flush to
            pass
    os._exit(code)


def _exit_status(code: object) -> int:
    """What the interpreter would exit with for SystemExit(code)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1
