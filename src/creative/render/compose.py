"""Compose: backgrounds + brief copy -> finished ads, with QC per ad."""

from __future__ import annotations

import hashlib
import itertools
import logging
import math
import os
import re
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from PIL import Image, UnidentifiedImageError

from creative.brand.kit import Brand, Layout, load_brand, load_layout
from creative.core.errors import ExportError, LayoutError
from creative.render.files import ad_filename, encode_capped, write_bytes
from creative.core.models import (
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
    VisualCheck,
)
from creative.render.typography import (
    copy_key,
    inside,
    render_ad,
    required_contrast,
    safe_rect,
    scale_for,
)

log = logging.getLogger(__name__)

MAX_TEXT_SHARE = 0.20  # Meta's old 20% text rule is gone, but text-heavy ads still reach fewer people
ASPECT_TOLERANCE = 0.01  # layout names like 191x100 are rounded standards (1200x627 is 1.914:1)
TEXT_BOXES = ("headline", "subhead", "cta")


class AdFolder(Protocol):
    """Where a run's backgrounds are read and its ads written (a run folder)."""

    path: Path

    @property
    def ads(self) -> Path: ...

    def background(self, variant: int) -> Path: ...


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


def visual_warnings(visual: VisualCheck) -> list[str]:
    """One warning per failed check of what the eye sees, saying what was measured and what to do."""
    out = []
    need = f"{visual.required_contrast:g}:1"
    for failed in visual.failed:
        if failed == "cta_contrast":
            out.append(f"cta: button stands out {visual.cta_contrast}:1 from the picture around it (under {need}) "
                       f"even with an outline; add a colour that stands out from such pictures to brand.yaml")
        elif failed == "logo_contrast":
            out.append(f"logo: {visual.logo_contrast}:1 against the picture around it (under {need}); add "
                       "logo_light / logo_dark variants to brand.yaml")
        elif failed == "subject_overlap":
            out.append(f"text, button and logo cover the subject: {visual.subject_overlap:.0%} of their area is on "
                       f"it (layout max_subject_overlap {visual.subject_overlap_max:.0%}); regenerate the background "
                       "or add a placement to the layout")
        elif failed == "subject_cut":
            out.append(f"the crop cuts {visual.subject_cut:.0%} off the subject (max {visual.subject_cut_max:.0%}); "
                       "generate the background at this aspect ratio")
    return out


def qc_ad(
    image_size: tuple[int, int],
    boxes: list[BoxCheck],
    size: AdSize,
    zone: SafeZone,
    copy: dict[str, str],
    visual: VisualCheck | None = None,
) -> AdQC:
    """Objective checks on one rendered ad. Never raises: compose_run turns errors into a LayoutError.

    Errors: size not exact, a box outside the safe zone, drawn copy != brief copy.
    Warnings: contrast below WCAG AA for the text size, text over 20% of the canvas, layout aspect off,
    and (with `visual`) CTA or logo under 3:1 against the picture, copy over the subject, a cut subject.
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
    if visual is not None:
        warnings += visual_warnings(visual)
    return AdQC(
        size=f"{width}x{height}", expected_size=size.label, aspect=_aspect(width, height), size_ok=size_ok,
        safe_zone_ok=not outside, outside_safe_zone=outside, contrast=contrast, text_share=share,
        text_share_ok=share <= MAX_TEXT_SHARE, copy_ok=not mismatched, copy_mismatches=mismatched,
        visual=visual, errors=errors, warnings=warnings,
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
        f"variant {variant}: concept '{name}' of its scene prompt is not in the brief (concepts: {names})",
        hint="keep concept names when editing the brief, or start a new run from it",
    )


def _background(bg_path: Path, variant: int) -> Image.Image:
    try:
        with Image.open(bg_path) as im:
            im.load()
            return im if im.mode == "RGB" else im.convert("RGB")  # no copy of what is already RGB
    except (UnidentifiedImageError, OSError) as exc:
        raise LayoutError(f"variant {variant}: background {bg_path} is not a readable image ({exc})") from exc


def _prepare(bg_path: Path, variant: int, sizes: list[AdSize]) -> Image.Image:
    """The variant's background, decoded, already scaled for every size (see typography.cover),
    and its saliency map computed once for all sizes."""
    background = _background(bg_path, variant)
    # Both use OpenCV, which _warm_up starts loading as the composer is made.
    from creative.render.saliency import saliency_of

    scale_for(background, [(size.width, size.height) for size in sizes])
    saliency_of(background)
    return background


def _warm_up() -> None:
    """Load the saliency module: NumPy, OpenCV and the colour tables OpenCV builds once."""
    import creative.render.saliency  # noqa: F401


class _SharedBackground:
    """A variant's prepared background, shared by its ads and let go when the last one is done,
    so only the few variants in progress hold decoded images however many are queued."""

    def __init__(self, task: Future[Image.Image], users: int):
        self._task: Future[Image.Image] | None = task
        self._users = users
        self._lock = threading.Lock()

    @property
    def task(self) -> Future[Image.Image] | None:
        return self._task

    def get(self) -> Image.Image:
        assert self._task is not None, "released before its last user"
        return self._task.result()  # an unreadable background is raised, not collected

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0:
                self._task = None


class AdComposer:
    """Renders a run's ads in worker threads, each variant as soon as its background is on disk.

    `add(variant)` queues a variant and returns at once, so generation can hand each background
    over the moment it is written and the ads are drawn while the GPU works on the next ones.
    `finish()` queues whatever is left, waits, and writes every ad or none (see compose_run).
    Used as a context manager: leaving early (an error, Ctrl-C) drops the work not started yet.
    """

    def __init__(self, folder: AdFolder, run_id: str, brief: Brief, prompts: PromptSet, channel: Channel,
                 brand_dir: Path, workers: int | None = None, pool: ThreadPoolExecutor | None = None):
        self.folder, self.run_id, self.brief, self.channel = folder, run_id, brief, channel
        self.brand_dir = Path(brand_dir)
        self._prompts = {vp.variant: vp for vp in prompts.variants}
        self._sizes = list(channel.sizes)
        # Pillow releases the GIL while decoding, resizing, filtering and encoding: threads use
        # every core. Small tasks keep them all busy to the end: one per background (decode and
        # scale), then one per ad (draw, check, encode). A background is always queued before its
        # ads, so even a single worker never waits on a task behind it.
        # A batch passes one pool for all its products: as many ads in progress as there are cores,
        # however many products are in flight, which bounds the memory they hold.
        self._workers = workers or os.cpu_count() or 1
        self._own_pool = pool is None
        self._pool = pool or ThreadPoolExecutor(self._workers, thread_name_prefix="compose")
        # A run makes its composer before the first background exists: what the first ad will
        # need loads meanwhile instead of holding it up then.
        self._pool.submit(_warm_up)
        self._brand: Brand | None = None
        self._layouts: dict[str, Layout] = {}
        self._queued: dict[int, list[Future[_Pending | LayoutError]]] = {}
        self._backgrounds: dict[int, _SharedBackground] = {}  # started, their ads not queued yet

    def __enter__(self) -> AdComposer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._own_pool:
            self._pool.shutdown(cancel_futures=True)
            return
        for task in [*(f for futures in self._queued.values() for f in futures), *self._started()]:
            task.cancel()  # ours only: the shared pool goes on with other products' ads

    def add(self, variant: int) -> bool:
        """Queue this variant's ads; False when it has no prompt or no background to compose."""
        if variant in self._queued:
            return True
        if not self._start_background(variant):
            return False
        vp = self._prompts[variant]
        concept = _concept(self.brief, vp.concept, variant)
        brand, layouts = self._brand_and_layouts()  # the first call loads YAML while decoding starts
        background = self._backgrounds.pop(variant)
        self._queued[variant] = [
            self._pool.submit(_compose_ad, vp, concept, background, size, folder=self.folder, run_id=self.run_id,
                              brand=brand, brand_dir=self.brand_dir, channel=self.channel, layouts=layouts)
            for size in self._sizes]
        return True

    def finish(self, variants: list[int] | None = None) -> list[AdRecord]:
        """Compose `variants` (default: every one with a prompt) and write their ads, all or none."""
        wanted = sorted(self._prompts if variants is None else set(variants) & set(self._prompts))
        left = [v for v in wanted if v not in self._queued]
        for i, variant in enumerate(left):
            # Backgrounds are decoded a few variants ahead of the ads that need them: an ad task
            # queued right behind its own background would keep a worker waiting for it.
            for ahead in left[i:i + self._workers + 1]:
                self._start_background(ahead)
            if not self.add(variant):
                log.info("variant %d: no background at %s; skipped", variant, self.folder.background(variant))
        done: list[_Pending | LayoutError] = []
        for variant in wanted:  # variant, then size order, whichever finished first
            done += [ad.result() for ad in self._queued.get(variant, [])]
        return _write_ads(self.folder.path, done)

    def _started(self) -> list[Future]:
        return [b.task for b in self._backgrounds.values() if b.task is not None]

    def _start_background(self, variant: int) -> bool:
        """Start decoding and scaling a variant's background; False when it has none (or no prompt)."""
        if variant in self._backgrounds:
            return True
        bg_path = self.folder.background(variant)
        if variant not in self._prompts or not bg_path.is_file():
            return False
        task = self._pool.submit(_prepare, bg_path, variant, self._sizes)
        self._backgrounds[variant] = _SharedBackground(task, len(self._sizes))
        return True

    def _brand_and_layouts(self) -> tuple[Brand, dict[str, Layout]]:
        if self._brand is None:
            self._brand = load_brand(self.brand_dir)
            for size in self._sizes:
                if size.layout not in self._layouts:
                    self._layouts[size.layout] = load_layout(self.brand_dir, size.layout, self._brand)
        return self._brand, self._layouts


def compose_run(
    folder: AdFolder,
    run_id: str,
    brief: Brief,
    prompts: PromptSet,
    channel: Channel,
    brand_dir: Path,
    variants: list[int] | None = None,
) -> list[AdRecord]:
    """Render every channel size for each variant with a background into the folder's ads.

    Every ad is rendered, checked and encoded before any is written, so a LayoutError (text that
    cannot fit, a box outside the safe zone, copy that differs from the brief) or an ExportError
    leaves no ads behind. It names every failing variant. Variants without a background are skipped
    (generation failures are reported upstream). Each record carries its QC; QC warnings are in
    record.warnings too. Ads are rendered in parallel threads; results keep variant, then size order.
    """
    with AdComposer(folder, run_id, brief, prompts, channel, brand_dir) as composer:
        return composer.finish(variants)


def _write_ads(run_dir: Path, done: list[_Pending | LayoutError]) -> list[AdRecord]:
    """Write every ad, or none: a LayoutError naming every failing ad, else the first ExportError."""
    failures = [o for o in done if isinstance(o, LayoutError)]
    if failures:
        first = failures[0]
        # One line per distinct problem: the same copy failing at every size is said once.
        seen = {_without_size(first.message)}
        more = ""
        for failure in failures[1:]:
            if _without_size(failure.message) not in seen:
                seen.add(_without_size(failure.message))
                more += f" | {failure.message}"
        raise LayoutError(first.message + more, hint=first.hint)
    pending = [o for o in done if isinstance(o, _Pending)]
    for p in pending:
        if isinstance(p.data, ExportError):
            raise p.data  # the first in variant order, as when encoding one by one
    records = []
    for p in pending:
        p.record.bytes = write_bytes(run_dir / p.record.path, p.data)
        p.record.sha256 = hashlib.sha256(p.data).hexdigest()
        for w in p.record.warnings:  # the stage reports them to the user, once
            log.info("%s: %s", p.record.path, w)
        records.append(p.record)
    return records


def _without_size(message: str) -> str:
    return re.sub(r" at \d+x\d+:", ":", message, count=1)


def _compose_ad(vp: VariantPrompt, concept: Concept, background: _SharedBackground, size: AdSize, *,
                folder: AdFolder, run_id: str, brand: Brand, brand_dir: Path, channel: Channel,
                layouts: dict[str, Layout]) -> _Pending | LayoutError:
    """Render, check and encode one ad of one variant: the encoded ad, or a LayoutError."""
    try:
        image = background.get()
    finally:
        background.release()  # the image stays alive while this ad uses it
    where = f"variant {vp.variant} ('{concept.name}') at {size.label}"
    try:
        ad = render_ad(image, concept, brand, brand_dir, layouts[size.layout], size, channel.safe_zone)
    except LayoutError as exc:
        # keep going: one message that names every variant that does not fit saves re-runs
        return LayoutError(f"{where}: {exc.message}", hint=exc.hint)
    qc = qc_ad(ad.image.size, ad.boxes, size, channel.safe_zone, expected_copy(concept, brand), ad.visual)
    if qc.errors:
        return LayoutError(f"{where}: QC failed: {'; '.join(qc.errors)}")
    name = ad_filename(run_id, vp.variant, concept.name, size.width, size.height, size.format)
    record = AdRecord(
        variant=vp.variant, concept=concept.name, seed=vp.seed, width=size.width,
        height=size.height, path=(folder.ads / name).relative_to(folder.path).as_posix(), boxes=ad.boxes,
        warnings=[*ad.warnings, *qc.warnings], qc=qc,
    )
    return _Pending(record, _encode(ad.image, size, channel, folder.path / record.path))


def _encode(image: Image.Image, size: AdSize, channel: Channel, name: Path) -> bytes | ExportError:
    try:
        return encode_capped(image, size.format, channel.max_file_kb, name)
    except ExportError as exc:
        return exc  # raised by compose_run, and only if every ad rendered
