"""The compose stage: backgrounds + brief copy -> finished ads in run_dir/ads/, with QC per ad."""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from pydantic import ValidationError

from creative.brand import Brand, Layout, load_brand, load_channels, load_layout
from creative.brief import check_policy, read_brief
from creative.errors import ConfigError, ExportError, InputError, LayoutError
from creative.export import ad_filename, ad_name_pattern, encode_capped, write_bytes
from creative.models import (
    AdQC,
    AdRecord,
    AdSize,
    BoxCheck,
    Brief,
    Channel,
    Concept,
    ContrastCheck,
    PromptSet,
    SafeZone,
    VariantPrompt,
)
from creative.typography import (
    copy_key,
    inside,
    render_ad,
    required_contrast,
    safe_rect,
)

log = logging.getLogger(__name__)

MAX_TEXT_SHARE = 0.20  # Meta's old 20% text rule is gone, but text-heavy ads still reach fewer people
ASPECT_TOLERANCE = 0.01  # layout names like 191x100 are rounded standards (1200x627 is 1.914:1)
TEXT_BOXES = ("headline", "subhead", "cta")


def background_path(run_dir: Path, variant: int) -> Path:
    return Path(run_dir) / "backgrounds" / f"v{variant:02d}.png"


# --- QC -------------------------------------------------------------------------


def text_share(boxes: list[BoxCheck], width: int, height: int) -> float:
    """Share of the canvas covered by text boxes (headline, subhead, CTA button), overlaps counted once."""
    rects = [b.bounds for b in boxes if b.box != "logo" and b.bounds]
    # exact union area by scanning rows of the (few) rectangles
    area = 0
    ys = sorted({y for r in rects for y in (r[1], r[3])})
    for y0, y1 in itertools.pairwise(ys):
        spans = sorted((r[0], r[2]) for r in rects if r[1] <= y0 and r[3] >= y1)
        covered, end = 0, -1
        for a, b in spans:
            if b > end:
                covered += b - max(a, end)
                end = b
        area += covered * (y1 - y0)
    return area / (width * height)


def expected_copy(concept: Concept, brand: Brand) -> dict[str, str]:
    """The copy each text box must show, straight from the brief (CTA falls back to the brand default)."""
    return {"headline": concept.headline, "subhead": concept.subhead, "cta": concept.cta or brand.cta.text}


def _aspect(width: int, height: int) -> str:
    g = math.gcd(width, height)
    return f"{width // g}:{height // g}"


def _copy_errors(boxes: list[BoxCheck], copy: dict[str, str]) -> tuple[list[str], list[str]]:
    drawn = {b.box: b for b in boxes if b.box in TEXT_BOXES}
    mismatched, errors = [], []
    for name in TEXT_BOXES:
        want = copy_key(copy.get(name, ""))
        box = drawn.get(name)
        got = copy_key(box.drawn or "") if box is not None and box.drawn is not None else None
        if box is not None and box.drawn is None:
            msg = f"{name}: the engine did not record the text it drew"
        elif got is None and want:
            msg = f"{name}: brief copy '{want}' was not drawn"
        elif got is not None and got != want:
            msg = f"{name}: drew '{got}' but the brief says '{want}'"
        else:
            continue
        mismatched.append(name)
        errors.append(msg)
    return mismatched, errors


def qc_ad(
    image_size: tuple[int, int],
    boxes: list[BoxCheck],
    size: AdSize,
    zone: SafeZone,
    copy: dict[str, str],
) -> AdQC:
    """Objective checks on one rendered ad. Never raises: compose_run turns errors into a LayoutError.

    Errors: size not exact, a box outside the safe zone, drawn copy != brief copy.
    Warnings: contrast below WCAG AA for the text size, text over 20% of the canvas, layout aspect off.
    """
    errors: list[str] = []
    warnings: list[str] = []
    width, height = image_size
    size_ok = (width, height) == (size.width, size.height)
    if not size_ok:
        errors.append(f"rendered {width}x{height} ({_aspect(width, height)}), expected {size.label} "
                      f"({_aspect(size.width, size.height)})")
    named = re.fullmatch(r"(\d+)x(\d+)", size.layout)
    if named and int(named[2]) and abs(width * int(named[2]) / (height * int(named[1])) - 1) > ASPECT_TOLERANCE:
        warnings.append(f"layout {size.layout} is drawn at {width}x{height} ({_aspect(width, height)})")

    safe = safe_rect(size, zone)
    outside = [b.box for b in boxes if b.bounds is None or not inside(b.bounds, safe)]
    for b in boxes:
        if b.box in outside:
            errors.append(f"{b.box}: drawn at {b.bounds}, outside the safe zone {safe} at {size.label}")

    contrast = []
    for b in boxes:
        if b.contrast is None or b.font_size is None:
            continue
        need = required_contrast(b.font_size)
        contrast.append(ContrastCheck(box=b.box, value=b.contrast, required=need, ok=b.contrast >= need))
        if b.contrast < need:
            fix = "change the brand's cta colours" if b.box == "cta" else "use a scrim or another text colour"
            warnings.append(f"{b.box}: contrast {b.contrast}:1 is below WCAG AA {need}:1 at {b.font_size} px; {fix}")

    share = round(text_share(boxes, width, height), 4)
    if share > MAX_TEXT_SHARE:
        warnings.append(f"text covers {share:.0%} of the image (over {MAX_TEXT_SHARE:.0%}); shorten the copy")

    mismatched, copy_errors = _copy_errors(boxes, copy)
    errors += copy_errors
    return AdQC(
        size=f"{width}x{height}", expected_size=size.label, aspect=_aspect(width, height), size_ok=size_ok,
        safe_zone_ok=not outside, outside_safe_zone=outside, contrast=contrast, text_share=share,
        text_share_ok=share <= MAX_TEXT_SHARE, copy_ok=not mismatched, copy_mismatches=mismatched,
        errors=errors, warnings=warnings,
    )


# --- compose --------------------------------------------------------------------


@dataclass
class _Pending:
    record: AdRecord
    data: bytes | ExportError  # the encoded file, or why it could not be encoded


def _concept(brief: Brief, name: str, variant: int) -> Concept:
    for concept in brief.concepts:
        if concept.name == name:
            return concept
    names = ", ".join(f"'{c.name}'" for c in brief.concepts)
    raise LayoutError(
        f"variant {variant}: concept '{name}' from prompts.json is not in brief.md (concepts: {names})",
        hint="re-run the prompts stage after editing brief.md",
    )


def _background(bg_path: Path, variant: int) -> Image.Image:
    try:
        with Image.open(bg_path) as im:
            return im.convert("RGB")
    except (UnidentifiedImageError, OSError) as exc:
        raise LayoutError(f"variant {variant}: background {bg_path} is not a readable image ({exc})") from exc


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

    Every ad is rendered, checked and encoded before any is written, so a LayoutError (text that
    cannot fit, a box outside the safe zone, copy that differs from the brief) or an ExportError
    leaves no ads behind. It names every failing variant. Variants without a background are skipped
    (generation failures are reported upstream). Each record carries its QC; QC warnings are in
    record.warnings too. Variants are rendered in parallel threads; results keep variant order.
    """
    run_dir = Path(run_dir)
    brand = load_brand(brand_dir)
    jobs: list[tuple[VariantPrompt, Concept, Path]] = []
    for vp in sorted(prompts.variants, key=lambda v: v.variant):
        if variants is not None and vp.variant not in variants:
            continue
        bg_path = background_path(run_dir, vp.variant)
        if not bg_path.is_file():
            log.info("variant %d: no background at %s; skipped", vp.variant, bg_path)
            continue
        jobs.append((vp, _concept(brief, vp.concept, vp.variant), bg_path))
    layouts: dict[str, Layout] = {}
    for size in channel.sizes if jobs else []:
        if size.layout not in layouts:
            layouts[size.layout] = load_layout(brand_dir, size.layout, brand)

    def one(job: tuple[VariantPrompt, Concept, Path]) -> list[_Pending | LayoutError]:
        return _compose_variant(*job, run_dir=run_dir, run_id=run_id, brand=brand, brand_dir=brand_dir, channel=channel,
                                layouts=layouts)

    # Pillow releases the GIL while resizing, filtering and encoding: threads use every core.
    workers = min(os.cpu_count() or 1, len(jobs))
    if workers > 1:
        with ThreadPoolExecutor(workers, thread_name_prefix="compose") as pool:
            outcomes = list(pool.map(one, jobs))  # map keeps variant order
    else:
        outcomes = [one(job) for job in jobs]
    done = [o for variant in outcomes for o in variant]
    failures = [o for o in done if isinstance(o, LayoutError)]
    if failures:
        first = failures[0]
        more = "".join(f" | {f.message}" for f in failures[1:])
        raise LayoutError(first.message + more, hint=first.hint)
    pending = [o for o in done if isinstance(o, _Pending)]
    for p in pending:
        if isinstance(p.data, ExportError):
            raise p.data  # the first in variant order, as when encoding one by one
    records = []
    for p in pending:
        p.record.bytes = write_bytes(run_dir / p.record.path, p.data)
        p.record.sha256 = hashlib.sha256(p.data).hexdigest()
        for w in p.record.warnings:
            log.warning("%s: %s", p.record.path, w)
        records.append(p.record)
    return records


def _compose_variant(vp: VariantPrompt, concept: Concept, bg_path: Path, *, run_dir: Path, run_id: str, brand: Brand,
                     brand_dir: Path, channel: Channel, layouts: dict[str, Layout]) -> list[_Pending | LayoutError]:
    """Render, check and encode every size of one variant: an encoded ad or a LayoutError each."""
    background = _background(bg_path, vp.variant)
    copy = expected_copy(concept, brand)
    out: list[_Pending | LayoutError] = []
    for size in channel.sizes:
        where = f"variant {vp.variant} ('{concept.name}') at {size.label}"
        try:
            ad = render_ad(background, concept, brand, brand_dir, layouts[size.layout], size, channel.safe_zone)
        except LayoutError as exc:
            # keep going: one message that names every variant that does not fit saves re-runs
            out.append(LayoutError(f"{where}: {exc.message}", hint=exc.hint))
            continue
        qc = qc_ad(ad.image.size, ad.boxes, size, channel.safe_zone, copy)
        if qc.errors:
            out.append(LayoutError(f"{where}: QC failed: {'; '.join(qc.errors)}"))
            continue
        name = ad_filename(run_id, vp.variant, concept.name, size.width, size.height, size.format)
        record = AdRecord(
            variant=vp.variant, concept=concept.name, seed=vp.seed, width=size.width,
            height=size.height, path=f"ads/{name}", boxes=ad.boxes,
            warnings=[*ad.warnings, *qc.warnings], qc=qc,
        )
        out.append(_Pending(record, _encode(ad.image, size, channel, run_dir / record.path)))
    return out


def _encode(image: Image.Image, size: AdSize, channel: Channel, name: Path) -> bytes | ExportError:
    try:
        return encode_capped(image, size.format, channel.max_file_kb, name)
    except ExportError as exc:
        return exc  # raised by compose_run, and only if every ad rendered


# --- recompose ------------------------------------------------------------------


def _run_id(run_dir: Path) -> str:
    """runlog.json's run_id (survives renaming the folder), else the folder name."""
    try:
        run_id = json.loads((run_dir / "runlog.json").read_text(encoding="utf-8")).get("run_id")
    except (OSError, ValueError, AttributeError):
        run_id = None
    return run_id if isinstance(run_id, str) and run_id else run_dir.name


def _read_prompts(path: Path) -> PromptSet:
    try:
        return PromptSet.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: not found", hint="is this a run folder? it needs brief.md and prompts.json") from None
    except (ValidationError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a valid prompts file ({str(exc).splitlines()[0]})") from exc


def remove_stale_ads(run_dir: Path, run_id: str, keep: list[AdRecord]) -> list[Path]:
    """Delete this run's ad files that `keep` does not list; other files in ads/ are left alone."""
    ads_dir = Path(run_dir) / "ads"
    pattern = ad_name_pattern(run_id)
    kept = {Path(r.path).name for r in keep}
    removed = []
    for path in sorted(ads_dir.glob("*")) if ads_dir.is_dir() else []:
        if path.is_file() and pattern.fullmatch(path.name) and path.name not in kept:
            path.unlink()
            removed.append(path)
    return removed


def recompose_run(run_dir: Path, brand_dir: Path, channels_path: Path) -> list[AdRecord]:
    """Re-render a run's ads from its brief.md and prompts.json after brand/ or the brief was edited.

    New ads are written (atomically, over the old ones) only when every ad renders; then this run's
    ads that are no longer produced are removed. A failure leaves the old ads as they were.
    """
    run_dir = Path(run_dir)
    brief = read_brief(run_dir / "brief.md")
    prompts = _read_prompts(run_dir / "prompts.json")
    channels = load_channels(channels_path)
    if brief.channel not in channels:
        raise ConfigError(
            f"{run_dir / 'brief.md'}: channel '{brief.channel}' is not in {channels_path}",
            hint=f"use one of: {', '.join(channels)}",
        )
    # the copy may have been edited by hand: the same policy as `creative run` applies
    check_policy(brief, load_brand(brand_dir).banned_words)
    run_id = _run_id(run_dir)
    try:
        records = compose_run(run_dir, run_id, brief, prompts, channels[brief.channel], brand_dir)
    except LayoutError as exc:
        exc.hint = " ".join(filter(None, [exc.hint, "The run's existing ads were left unchanged."]))
        raise
    for path in remove_stale_ads(run_dir, run_id, records):
        log.info("removed stale ad %s", path.name)
    return records
