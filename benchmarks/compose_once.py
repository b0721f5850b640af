"""Time compose_run alone on a finished run folder, in a fresh process: prints {"seconds", "ads"}.

    python benchmarks/compose_once.py RUN_DIR

What `creative run` spends per ad when nothing overlaps it (a run draws each variant while the
next backgrounds generate, so its own compose stage is only what is left at the end). One-time
costs of a process are paid before the clock starts, as a run pays them in earlier stages:
Pillow's format plugins and the fonts' character maps.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path

from PIL import Image

from creative.brand.kit import load_brand, load_channels
from creative.render.compose import compose_run
from creative.run.folder import RunFolder
from creative.core.config import SOURCE_ROOT
from creative.render.typography import _cmap


def main(run_dir: Path) -> None:
    folder = RunFolder(run_dir)
    brief = folder.read_brief()
    prompts = folder.read_prompts()
    channel = load_channels(SOURCE_ROOT / "templates" / "channels.yaml")[brief.channel]
    run_id = folder.run_id()
    Image.init()
    # Loaded once per process (as fonts are), while a run's first background is still generating.
    importlib.import_module("creative.render.saliency")
    brand = load_brand(SOURCE_ROOT / "brand")
    for font in [*brand.fonts.values(), *brand.fallback_fonts]:
        _cmap(str(SOURCE_ROOT / "brand" / "fonts" / font))
    start = time.perf_counter()
    ads = compose_run(folder, run_id, brief, prompts, channel, SOURCE_ROOT / "brand")
    print(json.dumps({"seconds": time.perf_counter() - start, "ads": len(ads)}))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
