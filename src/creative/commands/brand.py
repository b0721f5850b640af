"""`creative brand init` and `creative brand list`: make a brand folder from a site, list the brands."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from creative.brand.init import BrandKitResult, FetchLimits, build_brand_kit
from creative.brand.kit import brand_name
from creative.brand.select import SAMPLE_DIR, BrandChoice, own_brand_folders, resolve_brand
from creative.core.config import Settings
from creative.core.errors import ConfigError, CreativeError

def init_brand(url: str, settings: Settings, *, out: Path | None = None, force: bool = False,
               research: str | None = None) -> tuple[BrandKitResult, list[str]]:
    """Build the brand folder; returns the result and the lines to show the user."""
    backend = research or settings.research.backend
    if backend == "auto":
        backend = "static"  # a shop's home page carries its brand in plain HTML; --research browser otherwise
    r = settings.research
    result = build_brand_kit(
        url, out=out, brands_dir=settings.paths.brands_dir, sample_dir=SAMPLE_DIR, backend=backend, force=force,
        limits=FetchLimits(timeout_s=r.timeout_s, max_bytes=r.max_bytes, ignore_robots=r.ignore_robots,
                           chromium_path=r.chromium_path),
    )
    verb = "replaced" if result.replaced else "wrote"
    lines = [f"{verb} {result.folder}: '{result.name.value}' (name from {result.name.source})",
             f"logo: {result.logo_source}"]
    lines += [f"note: {n}" for n in result.notes]
    lines += [f"look at {result.folder / 'brand_preview.png'} before the first run; "
              f"use it with --brand {result.folder.name}"]
    return result, lines


@dataclass(frozen=True)
class BrandRow:
    folder: Path
    name: str
    in_use: bool
    sample: bool


def list_brands(settings: Settings) -> tuple[list[BrandRow], str]:
    """Every brand a run could use, which one it would use now, and why (or why none)."""
    try:
        chosen: BrandChoice | None = resolve_brand(settings)
        why = f"in use: {chosen.name} ({chosen.reason})"
    except CreativeError as exc:
        chosen, why = None, exc.user_message()
    rows = []
    for folder in [*own_brand_folders(settings), SAMPLE_DIR]:
        try:
            name = brand_name(folder)
        except ConfigError as exc:
            name = f"(unreadable: {exc.message})"
        in_use = chosen is not None and chosen.folder == folder.resolve()
        rows.append(BrandRow(folder=folder, name=name, in_use=in_use, sample=folder == SAMPLE_DIR))
    return rows, why
