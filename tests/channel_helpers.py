"""A copy of templates/ with extra channels, for tests that need small or unusual channels."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TINY_VIDEO_CHANNEL = """
tiny_video:
  description: a 9:16 video channel at half size so the encode takes about a second
  sizes:
    - {width: 540, height: 960, layout: 9x16, format: jpg}
  safe_zone: {top: 0.12, bottom: 0.25, left: 0.06, right: 0.12}
  max_file_kb: 30720
  video: {duration_s: 1, fps: 10}
"""


def templates_with(folder: Path, extra_channels: str = TINY_VIDEO_CHANNEL) -> Path:
    """Copy templates/ into `folder` and append `extra_channels` to its channels.yaml."""
    templates = folder / "templates"
    shutil.copytree(ROOT / "templates", templates)
    with open(templates / "channels.yaml", "a", encoding="utf-8") as fh:
        fh.write(extra_channels)
    return templates
