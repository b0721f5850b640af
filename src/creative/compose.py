"""The compose stage: backgrounds + brief copy -> finished ads in run_dir/ads/, with QC."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from creative.brand import Layout, load_brand, load_layout
from creative.errors import LayoutError
from creative.export import ad_filename, write_image
from creative.models import AdRecord, AdSize, Brief, Channel, Concept, PromptSet, SafeZone
from creative.typography import RenderedAd, inside, render_ad, required_contrast, safe_rect

log = logging.getLogger(__name__)

MAX_TEXT_SHARE = 0.20  # Meta's old 20% text rule is gone, but text-heavy ads still reach fewer people


def background_path(run_dir: Path, variant: int) -> Path:
    return Path(run_dir) / "backgrounds" / f"v{variant:02d}.png"


def text_share(ad: RenderedAd, width: int, height: int) -> float:
    """Share of the canvas covered by text boxes (headline, subhead, CTA button), overlaps counted once."""
    rects = [b.bounds for b in ad.boxes if b.box != "logo" and b.bounds]
    # exact union area by scanning rows of the (few) rectangles
    area = 0
    ys = sorted({y for r in rects for y in (r[1], r[3])})
    for y0, y1 in zip(ys, ys[1:]):
        spans = sorted((r[0], r[2]) for r in rects if r[1] <= y0 and r[3] >= y1)
        covered, end = 0, -1
        for a, b in spans:
            if b > end:
                covered += b - max(a, end)
                end = b
        area += covered * (y1 - y0)
    return area / (width * height)


def qc_ad(ad: RenderedAd, size: AdSize, zone: SafeZone) -> list[str]:
    """Objective checks on one rendered ad; returns warnings (hard failures raise LayoutError)."""
    if ad.image.size != (size.width, size.height):
        raise LayoutError(f"rendered {ad.image.size[0]}x{ad.image.size[1]}, expected {size.label}")
    safe = safe_rect(size, zone)
    warnings = list(ad.warnings)
    for box in ad.boxes:
        if box.bounds is None or not inside(box.bounds, safe):
            raise LayoutError(f"{box.box}: drawn at {box.bounds}, outside the safe zone {safe} at {size.label}")
        if box.contrast is not None and box.font_size is not None:
            need = required_contrast(box.font_size)
            if box.contrast < need and not any(w.startswith(f"{box.box}:") for w in warnings):
                warnings.append(f"{box.box}: contrast {box.contrast}:1 is below {need}:1")
    share = text_share(ad, size.width, size.height)
    if share > MAX_TEXT_SHARE:
        warnings.append(f"text covers {share:.0%} of the image (over {MAX_TEXT_SHARE:.0%}); shorten the copy")
    return warnings


def _concept(brief: Brief, name: str, variant: int) -> Concept:
    for concept in brief.concepts:
        if concept.name == name:
            return concept
    names = ", ".join(f"'{c.name}'" for c in brief.concepts)
    raise LayoutError(
        f"variant {variant}: concept '{name}' from prompts.json is not in brief.md (concepts: {names})",
        hint="re-run the prompts stage after editing brief.md",
    )


def compose_run(
    run_dir: Path,
    run_id: str,
    brief: Brief,
    prompts: PromptSet,
    channel: Channel,
    brand_dir: Path,
    variants: list[int] | None = None,
) -> list[AdRecord]:
    """Render every channel size for each variant with a background; write run_dir/ads/.

    All ads are laid out before any is written, so a LayoutError leaves no partial ads behind.
    Variants without a background are skipped (generation failures are reported upstream).
    """
    run_dir = Path(run_dir)
    brand = load_brand(brand_dir)
    layouts: dict[str, Layout] = {}
    rendered: list[tuple[AdRecord, RenderedAd, AdSize]] = []
    for vp in sorted(prompts.variants, key=lambda v: v.variant):
        if variants is not None and vp.variant not in variants:
            continue
        bg_path = background_path(run_dir, vp.variant)
        if not bg_path.is_file():
            log.info("variant %d: no background at %s; skipped", vp.variant, bg_path)
            continue
        concept = _concept(brief, vp.concept, vp.variant)
        try:
            with Image.open(bg_path) as im:
                background = im.convert("RGB")
        except (UnidentifiedImageError, OSError) as exc:
            raise LayoutError(f"variant {vp.variant}: background {bg_path} is not a readable image ({exc})") from exc
        for size in channel.sizes:
            if size.layout not in layouts:
                layouts[size.layout] = load_layout(brand_dir, size.layout, brand)
            try:
                ad = render_ad(background, concept, brand, brand_dir, layouts[size.layout], size, channel.safe_zone)
                warnings = qc_ad(ad, size, channel.safe_zone)
            except LayoutError as exc:
                raise LayoutError(
                    f"variant {vp.variant} ('{concept.name}') at {size.label}: {exc.message}", hint=exc.hint
                ) from exc
            name = ad_filename(run_id, vp.variant, concept.name, size.width, size.height, size.format)
            record = AdRecord(
                variant=vp.variant, concept=concept.name, seed=vp.seed, width=size.width,
                height=size.height, path=f"ads/{name}", boxes=ad.boxes, warnings=warnings,
            )
            rendered.append((record, ad, size))
    records = []
    for record, ad, size in rendered:
        path = run_dir / record.path
        record.bytes = write_image(ad.image, path, size.format, channel.max_file_kb)
        record.sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
        for w in record.warnings:
            log.warning("%s: %s", record.path, w)
        records.append(record)
    return records
