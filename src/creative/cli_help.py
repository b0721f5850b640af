"""Examples and the channel list shown by `--help` (kept out of cli.py so the commands stay readable)."""

from __future__ import annotations

from pathlib import Path

from typer.core import TyperCommand

APP_EXAMPLES = """Examples:

creative demo        # a whole run against a built-in mock ComfyUI
creative run --url https://shop.example/serum --channel meta_static
creative brief --url https://shop.example/serum --channel tiktok
creative export runs/RUN-FOLDER --channel tiktok
creative budget      # this month's spend against the cap"""

RUN_EXAMPLES = """Examples:

creative run --url https://shop.example/serum --channel meta_static
creative run --url examples/serum.html --channel tiktok --variants 4 \\
    --comfy-url http://gpu-1:8188 --comfy-url http://gpu-2:8188
creative run --brief runs/RUN-FOLDER/brief.md    # after editing the brief
creative run --url examples/serum.html --channel meta_static --dry-run"""

BRIEF_EXAMPLES = """Examples:

creative brief --url https://shop.example/serum --channel meta_static
creative brief --url examples/serum.html --channel tiktok --offer "2 for 1"
# then edit the brief.md it prints, and:
creative run --brief runs/RUN-FOLDER/brief.md"""

EXPORT_EXAMPLES = """Examples:

creative export runs/RUN-FOLDER --channel tiktok   # backgrounds as videos
creative export runs/RUN-FOLDER --channel linkedin_static --quiet
creative export runs/RUN-FOLDER --channel meta_reels --encoder x264"""


def channel_lines(templates_dir: Path) -> list[str]:
    """One line per channel of `templates_dir/channels.yaml`: name, description, sizes.

    Read with the YAML parser alone (no validation): help must be quick and must still print
    when the file has a mistake, which the line then names.
    """
    from creative.core.yaml_text import safe_load

    path = templates_dir / "channels.yaml"
    try:
        data = safe_load(path.read_text(encoding="utf-8"))
    except Exception as exc:  # noqa: BLE001 - any problem is shown instead of the list
        return [f"(cannot read {path}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"]
    if not isinstance(data, dict):
        return [f"({path} holds no channels)"]
    width = max(len(str(name)) for name in data) if data else 0
    lines = []
    for name, body in data.items():
        body = body if isinstance(body, dict) else {}
        sizes = ", ".join(f"{s.get('width')}x{s.get('height')}" for s in body.get("sizes") or [] if isinstance(s, dict))
        lines.append(f"{str(name):<{width}}  {body.get('description', '')}" + (f" ({sizes})" if sizes else ""))
    return lines


def run_epilog() -> str:
    """The examples, then the channels of the templates folder a run would use."""
    from creative.core.config import load_settings

    try:
        templates_dir = load_settings(None).templates_dir
    except Exception:  # noqa: BLE001 - a broken creative.yaml must not break --help
        from creative.core.config import SOURCE_ROOT

        templates_dir = SOURCE_ROOT / "templates"
    channels = "\n".join(channel_lines(templates_dir))
    return f"{RUN_EXAMPLES}\n\nChannels (--channel, from {_shown(templates_dir / 'channels.yaml')}):\n\n{channels}"


def _shown(path: Path) -> str:
    """`path` relative to the working folder when it is inside it (shorter to read), else as is."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


class RunHelp(TyperCommand):
    """`run`: the epilog is built when help is shown, so the channel list is read only then."""

    def format_help(self, ctx, formatter):
        self.epilog = run_epilog()
        return super().format_help(ctx, formatter)
