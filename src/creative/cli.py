"""Command-line interface: parse options, call one function, print. No business logic here."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Optional

import click
import typer

from creative.config import SOURCE_ROOT, load_settings
from creative.errors import EXIT_BAD_INPUT, EXIT_FAILURE, CreativeError

app = typer.Typer(
    help="Turn a product page into ready-to-upload, on-brand ad creatives.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

EXAMPLE_PAGE = SOURCE_ROOT / "examples" / "serum.html"


def _err(message: str) -> None:
    typer.echo(message, err=True)


@app.command()
def run(
    url: Optional[str] = typer.Option(None, "--url", help="Product page URL or local HTML file."),
    channel: Optional[str] = typer.Option(None, "--channel", help="Channel from templates/channels.yaml, e.g. meta_static."),
    offer: Optional[str] = typer.Option(None, "--offer", help='Offer to feature, e.g. "Buy 2 get 1".'),
    brief: Optional[Path] = typer.Option(None, "--brief", help="Start from a (hand-edited) brief.md instead of a URL."),
    variants: Optional[int] = typer.Option(None, "--variants", min=1, max=100, help="Number of variants (default 6)."),
    comfy_url: Optional[list[str]] = typer.Option(None, "--comfy-url", help="ComfyUI server; repeat for several."),
    workflow: Optional[Path] = typer.Option(None, "--workflow", help="API-format workflow JSON with a .bind.yaml beside it."),
    runs_dir: Optional[Path] = typer.Option(None, "--runs-dir", help="Where run folders go (default runs/)."),
    config: Optional[Path] = typer.Option(None, "--config", help="Settings file (default ./creative.yaml)."),
    seed: Optional[int] = typer.Option(None, "--seed", min=0, help="Base seed: variant N gets seed + N - 1."),
    new_seeds: bool = typer.Option(False, "--new-seeds", help="Random seeds instead of seeds derived from the brief."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress on stderr."),
) -> None:
    """Research a page, write a brief, generate backgrounds and compose the ads."""
    from creative.pipeline import RunOptions, run_pipeline
    from creative.progress import make_reporter

    settings = load_settings(config, overrides={
        "comfyui.urls": comfy_url or None,
        "comfyui.workflow": str(workflow) if workflow else None,
        "paths.runs_dir": str(runs_dir) if runs_dir else None,
    })
    options = RunOptions(channel=channel, url=url, brief_path=brief, offer=offer, variants=variants, seed=seed, new_seeds=new_seeds)
    result = run_pipeline(options, settings, make_reporter(quiet))
    if result.exit_code:
        _err(f"error: {result.message}")
    elif not quiet:
        _err(f"done: {result.message}")
    typer.echo(str(result.run_dir))
    raise typer.Exit(result.exit_code)


@app.command("mock-comfy")
def mock_comfy(
    port: int = typer.Option(8188, "--port", help="Port to listen on."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind."),
    latency: float = typer.Option(0.0, "--latency", min=0.0, help="Seconds each prompt takes to 'execute'."),
) -> None:
    """Serve a mock ComfyUI (same routes, frames and errors as the real one) for tests and demos."""
    from creative.comfy.mock import MockOptions, serve

    _err(f"mock ComfyUI on http://{host}:{port} (latency {latency:g}s); Ctrl-C to stop")
    serve(host, port, MockOptions(latency=latency))


@app.command()
def demo(
    runs_dir: Optional[Path] = typer.Option(None, "--runs-dir", help="Where the run folder goes (default runs/)."),
    latency: float = typer.Option(0.5, "--latency", min=0.0, help="Mock generation time per image, seconds."),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Start a mock ComfyUI and run the whole pipeline on the bundled sample product page."""
    from creative.comfy.mock import MockOptions, MockServer
    from creative.pipeline import RunOptions, run_pipeline
    from creative.progress import make_reporter

    with MockServer(MockOptions(latency=latency)) as server:
        settings = load_settings(None, overrides={
            "comfyui.urls": [server.url],
            "paths.runs_dir": str(runs_dir) if runs_dir else None,
        })
        options = RunOptions(channel="meta_static", url=str(EXAMPLE_PAGE), offer="Buy 2 get 1")
        result = run_pipeline(options, settings, make_reporter(quiet))
    if not quiet:
        _err(f"done: {result.message}; open {result.run_dir / 'index.html'} to pick your favourites")
    typer.echo(str(result.run_dir))
    raise typer.Exit(result.exit_code)


def main() -> None:
    """Console-script entry: one clear line on stderr and the documented exit code, never a traceback."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        code = app(standalone_mode=False)
    except CreativeError as exc:
        _err(f"error: {exc.user_message()}")
        code = exc.exit_code
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:
        exc.show()
        code = EXIT_BAD_INPUT if isinstance(exc, click.UsageError) else exc.exit_code
    except click.exceptions.Abort:
        _err("aborted")
        code = EXIT_FAILURE
    except KeyboardInterrupt:
        _err("cancelled")
        code = 130
    sys.exit(code or 0)
