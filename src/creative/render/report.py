"""Review outputs: contact_sheet.png (all ads in a labelled grid) and index.html (the gallery)."""

from __future__ import annotations

import html
import logging
import struct
import time
import zlib
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

from PIL import Image, ImageChops, ImageDraw, ImageFont

from creative.core.atomic import write_atomic
from creative.render.files import srgb_icc
from creative.core.models import AdRecord, Brief, PromptSet, VideoRecord, VisualCheck


log = logging.getLogger(__name__)

THUMB_W = 360
GUTTER = 24
LABEL_H = 52
SHEET_BG = (244, 243, 240)
LABEL_INK = (40, 44, 52)
LABEL_MUTED = (110, 114, 122)
SHEET_PNG_LEVEL = 1
# Pillow and zlib release the GIL while they decode, resize and deflate: two threads, two cores.
SHEET_WORKERS = 2
SHEET_BANDS = 6  # the PNG's rows are filtered and deflated in this many bands, in parallel
# From the JPEG draft (1.5x the thumbnail): looks the same as LANCZOS, at under half its cost.
THUMB_FILTER = Image.HAMMING


def _fonts(font: Path | None) -> tuple[ImageFont.ImageFont, ImageFont.ImageFont]:
    if font is not None:
        return ImageFont.truetype(str(font), 17), ImageFont.truetype(str(font), 14)
    return ImageFont.load_default(17), ImageFont.load_default(14)


def _thumb(run_dir: Path, ad: AdRecord) -> Image.Image:
    """Ad scaled to THUMB_W wide; a grey placeholder if the file is missing or unreadable."""
    height = round(THUMB_W * ad.height / ad.width)
    try:
        with Image.open(run_dir / ad.path) as im:
            # JPEG: decode at reduced DCT scale (>= thumbnail size); far less work than full size
            im.draft("RGB", (THUMB_W, height))
            rgb = im if im.mode == "RGB" else im.convert("RGB")
            return rgb.resize((THUMB_W, height), THUMB_FILTER)
    except (OSError, ValueError) as exc:
        log.warning("contact sheet: %s unreadable (%s); placeholder drawn", ad.path, exc)
        return Image.new("RGB", (THUMB_W, height), (200, 200, 200))


Cell = tuple[AdRecord, tuple[int, int]]  # an ad and the top-left corner of its thumbnail


def _grid(ads: list[AdRecord]) -> tuple[tuple[int, int], list[Cell]]:
    """Sheet size and cells: one row per variant, one column per size."""
    rows: dict[int, list[AdRecord]] = defaultdict(list)
    for ad in ads:
        rows[ad.variant].append(ad)
    cols = max((len(r) for r in rows.values()), default=1)
    cells: list[Cell] = []
    y = GUTTER
    for v in sorted(rows):
        cells += [(ad, (GUTTER + i * (THUMB_W + GUTTER), y)) for i, ad in enumerate(rows[v])]
        y += max(round(THUMB_W * a.height / a.width) for a in rows[v]) + LABEL_H + GUTTER
    height = y if rows else 2 * GUTTER + LABEL_H
    return (GUTTER + cols * (THUMB_W + GUTTER), height), cells


def contact_sheet(run_dir: Path, ads: list[AdRecord], font: Path | None = None) -> Image.Image:
    """All ads in a grid: one row per variant, one column per size, each labelled."""
    size, cells = _grid(ads)
    with ThreadPoolExecutor(SHEET_WORKERS) as pool:
        thumbs = pool.map(lambda ad: _thumb(Path(run_dir), ad), [ad for ad, _ in cells])
        sheet = Image.new("RGB", size, SHEET_BG)
        _draw_labels(sheet, cells, font)  # while the pool decodes
        # thumbnails after the labels: each still covers a label too long for the column before it
        for (_, corner), thumb in zip(cells, thumbs):
            sheet.paste(thumb, corner)
    return sheet


def _draw_labels(sheet: Image.Image, cells: list[Cell], font: Path | None) -> None:
    """Two lines under each thumbnail: variant and concept, then seed and size."""
    draw = ImageDraw.Draw(sheet)
    big, small = _fonts(font)
    for ad, (x, y) in cells:
        ty = y + round(THUMB_W * ad.height / ad.width) + 8
        draw.text((x, ty), f"v{ad.variant:02d} · {ad.concept}", font=big, fill=LABEL_INK)
        draw.text((x, ty + 22), f"seed {ad.seed} · {ad.width}x{ad.height}", font=small, fill=LABEL_MUTED)
        # Text rendering holds the GIL, and the pool needs it for a moment after every decode or
        # resize call: without this pause each of those waits out the 5 ms switch interval.
        time.sleep(0)
    if not cells:
        draw.text((GUTTER, GUTTER), "no ads in this run", font=big, fill=LABEL_INK)


def write_contact_sheet(path: Path, run_dir: Path, ads: list[AdRecord], font: Path | None = None) -> Path:
    """Write the contact sheet of `ads` (paths relative to `run_dir`) to `path`.

    `font`: a .ttf for labels (e.g. the brand's regular font)."""
    write_atomic(path, _encode_sheet(contact_sheet(Path(run_dir), ads, font)))
    return path


# --- PNG encoding ---------------------------------------------------------------
# Pillow's PNG encoder tries four filters on every row, then deflates on one thread: nearly half
# of this stage. Here every row gets the "Up" filter (one C pass with ImageChops) and bands of
# rows are deflated in parallel, as pigz does: each band is raw deflate that ends on a byte
# boundary, so the bands concatenate into one zlib stream. With Z_RLE the file comes out ~6%
# smaller than Pillow's at the same level.

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_FILTER_UP = b"\x02"  # the filter-type byte that starts each row
ZLIB_HEADER = b"\x78\x01"  # deflate, 32 KiB window, "fastest" level hint


def _encode_sheet(sheet: Image.Image) -> bytes:
    """8-bit RGB PNG with an sRGB ICC profile at zlib level SHEET_PNG_LEVEL (a local preview)."""
    rgb = sheet if sheet.mode == "RGB" else sheet.convert("RGB")
    step = -(-rgb.height // SHEET_BANDS)
    checksum = 1  # adler32 of nothing; the zlib trailer covers all the filtered rows
    idat = [ZLIB_HEADER]
    with ThreadPoolExecutor(SHEET_WORKERS) as pool:
        bands = [pool.submit(_filter_and_deflate, rgb, top, min(top + step, rgb.height))
                 for top in range(0, rgb.height, step)]
        for band in bands:
            raw, deflated = band.result()
            checksum = zlib.adler32(raw, checksum)
            idat.append(deflated)
    idat.append(struct.pack(">I", checksum))
    header = struct.pack(">IIBBBBB", rgb.width, rgb.height, 8, 2, 0, 0, 0)  # 8 bits, truecolour
    icc = b"ICC Profile\0\0" + zlib.compress(srgb_icc())  # name, NUL, compression method 0
    return b"".join([PNG_SIGNATURE, _png_chunk(b"IHDR", header), _png_chunk(b"iCCP", icc),
                     _png_chunk(b"IDAT", b"".join(idat)), _png_chunk(b"IEND", b"")])


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(data, zlib.crc32(kind))
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _filter_and_deflate(rgb: Image.Image, top: int, bottom: int) -> tuple[bytes, bytes]:
    """Rows top..bottom-1 as PNG data with the Up filter (each row minus the one above, mod 256;
    the row above row 0 is zeros, as crop gives outside the image), and their raw deflate.
    Every band but the last ends with a sync flush: byte-aligned and not marked final."""
    width = rgb.width
    up = ImageChops.subtract_modulo(rgb.crop((0, top, width, bottom)), rgb.crop((0, top - 1, width, bottom - 1)))
    pixels = memoryview(up.tobytes())
    stride = 3 * width
    parts = []
    for start in range(0, len(pixels), stride):
        parts += (PNG_FILTER_UP, pixels[start:start + stride])
    raw = b"".join(parts)
    deflate = zlib.compressobj(SHEET_PNG_LEVEL, zlib.DEFLATED, -15, 8, zlib.Z_RLE)  # -15: no zlib header
    return raw, deflate.compress(raw) + deflate.flush(zlib.Z_FINISH if bottom == rgb.height else zlib.Z_SYNC_FLUSH)


# --- gallery --------------------------------------------------------------------

CSS = """
:root{--ink:#22262e;--muted:#6b7079;--line:#e3e1dc;--bg:#f6f5f2;--card:#fff;--warn:#a4461f;--ok:#2f6b3f}
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:var(--ink);background:var(--bg)}main{max-width:1280px;margin:0 auto;padding:32px 24px 64px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:0}.muted{color:var(--muted)}
.totals{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:12px;margin:24px 0}
.stat{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px}
.stat b{display:block;font-size:20px}.stat span{color:var(--muted);font-size:13px}
section{background:var(--card);border:1px solid var(--line);border-radius:14px;padding:20px;margin:20px 0}
.head{display:flex;gap:12px;align-items:baseline;flex-wrap:wrap;margin-bottom:12px}
.copy{display:grid;grid-template-columns:90px 1fr;gap:2px 12px;margin:0 0 12px}.copy dt{color:var(--muted)}
.copy dd{margin:0}details{margin:0 0 14px}summary{cursor:pointer;color:var(--muted)}
pre{white-space:pre-wrap;background:var(--bg);padding:10px;border-radius:8px;font-size:13px;margin:6px 0}
.ads{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:18px;align-items:start}
figure{margin:0}figure img{width:100%;height:auto;display:block;border-radius:8px;border:1px solid var(--line)}
figcaption{font-size:13px;margin-top:6px}table{border-collapse:collapse;width:100%;font-size:12px;margin-top:4px}
td,th{text-align:left;padding:2px 6px;border-bottom:1px solid var(--line)}th{color:var(--muted);font-weight:500}
.warn{color:var(--warn)}.ok{color:var(--ok)}.sheet img{max-width:100%;border-radius:8px}
.notice{border:1px solid var(--warn);border-radius:8px;padding:10px 14px;margin:12px 0;color:var(--warn)}
figure video{width:100%;height:auto;display:block;border-radius:8px;border:1px solid var(--line);background:#000}
.qc{font-size:12px;margin-top:4px}h3{font-size:14px;margin:16px 0 8px;color:var(--muted);font-weight:600}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _href(rel_path: str) -> str:
    """A relative, URL-encoded link that works from file://."""
    return quote(rel_path.replace("\\", "/").lstrip("/"))


def _fmt(key: str, value: object) -> str:
    if isinstance(value, float):
        if "cost" in key or "usd" in key:
            return f"${value:,.2f}"
        if "second" in key or key.endswith("_s"):
            return f"{value:,.1f} s"
        return f"{value:,.2f}"
    return str(value)


def _totals_html(totals: dict) -> str:
    cells = [
        f'<div class="stat"><b>{_e(_fmt(k, v))}</b><span>{_e(k.replace("_", " "))}</span></div>'
        for k, v in totals.items()
        if isinstance(v, (str, int, float))
    ]
    return f'<div class="totals">{"".join(cells)}</div>'


def _qc_html(ad: AdRecord) -> str:
    """QC summary and the per-box table (font size, contrast against WCAG AA, safe zone)."""
    qc = ad.qc
    required = {c.box: c for c in qc.contrast} if qc else {}
    rows = []
    for b in ad.boxes:
        check = required.get(b.box)
        contrast = f"{b.contrast}:1" if b.contrast is not None else ""
        need = f" (≥ {check.required:g}:1)" if check else ""
        cls = "" if check is None else ("ok" if check.ok else "warn")
        rows.append(
            f"<tr><td>{_e(b.box)}</td><td>{_e(b.font_size or '')}</td><td class=\"{cls}\">{_e(contrast + need)}</td>"
            f"<td class=\"{'ok' if b.inside_safe_zone else 'warn'}\">{'inside' if b.inside_safe_zone else 'OUTSIDE'}</td></tr>"
        )
    table = f"<table><tr><th>box</th><th>px</th><th>contrast</th><th>safe zone</th></tr>{''.join(rows)}</table>"
    if qc is None:
        return table
    noted = f" ({len(qc.warnings)} warning{'s' if len(qc.warnings) != 1 else ''})" if qc.warnings else ""
    verdict = f'<b class="ok">QC passed</b>{noted}' if qc.ok else f'<b class="warn">QC failed: {_e("; ".join(qc.errors))}</b>'
    facts = (f"size {_e(qc.size)} {'✓' if qc.size_ok else '✗ expected ' + _e(qc.expected_size)} · aspect {_e(qc.aspect)}"
             f" · safe zone {'✓' if qc.safe_zone_ok else '✗'} · copy {'✓' if qc.copy_ok else '✗'}"
             f" · text {qc.text_share:.0%} of the image {'✓' if qc.text_share_ok else '✗'}")
    return f'<div class="qc">{verdict} · <span class="muted">{facts}</span></div>{_visual_html(qc.visual)}{table}'


def _visual_html(visual: VisualCheck | None) -> str:
    """Placement chosen (with every placement's score) and the checks of what the eye sees."""
    if visual is None:
        return ""
    failed = set(visual.failed)

    def mark(name: str, text: str) -> str:
        return f'<span class="{"warn" if name in failed else "ok"}">{_e(text)} {"✗" if name in failed else "✓"}</span>'

    scores = ", ".join(f"{k} {v:.2f}" for k, v in visual.placement_scores.items())
    need = f"≥ {visual.required_contrast:g}:1"
    cta = f"CTA on picture {visual.cta_contrast}:1 ({need}{', ' + visual.cta_fix if visual.cta_fix else ''})"
    logo = f"logo {visual.logo_contrast}:1 ({need}{', ' + visual.logo_fix if visual.logo_fix else ''})"
    parts = [
        f'<span class="muted">placement <b>{_e(visual.placement)}</b> (subject under copy: {_e(scores)})'
        f" · crop at {visual.crop[0]}, {visual.crop[1]}</span>",
        mark("cta_contrast", cta) if visual.cta_contrast is not None else "",
        mark("logo_contrast", logo) if visual.logo_contrast is not None else "",
        mark("subject_overlap", f"on subject {visual.subject_overlap:.0%} (max {visual.subject_overlap_max:.0%})"),
        mark("subject_cut", f"subject cut {visual.subject_cut:.0%} (max {visual.subject_cut_max:.0%})"),
    ]
    return f'<div class="qc">{" · ".join(p for p in parts if p)}</div>'


def _ad_html(ad: AdRecord) -> str:
    warns = "".join(f'<div class="warn">⚠ {_e(w)}</div>' for w in ad.warnings)
    href = _href(ad.path)
    return (
        f'<figure><a href="{href}"><img src="{href}" alt="{_e(ad.concept)} {ad.width}x{ad.height}" '
        f'loading="lazy"></a><figcaption><b>{ad.width}x{ad.height}</b> '
        f'<span class="muted">· {ad.bytes / 1024:,.0f} KB · {_e(Path(ad.path).name)}</span>'
        f"{_qc_html(ad)}{warns}</figcaption></figure>"
    )


def _video_html(video: VideoRecord) -> str:
    href = _href(video.path)
    length = f" · {video.duration_s:g} s @ {video.fps} fps" if video.duration_s else ""
    return (
        f'<figure><video src="{href}" controls muted loop playsinline preload="metadata" '
        f'width="{video.width}" height="{video.height}"></video><figcaption><b>{video.width}x{video.height} video</b> '
        f'<span class="muted">· {video.bytes / 2**20:,.1f} MB{length} · {_e(video.encoder or "")} · '
        f'<a href="{href}">{_e(Path(video.path).name)}</a></span></figcaption></figure>'
    )


def _results_html(results: dict[str, str] | None) -> str:
    """The variant's imported ad results (spend, CTR with interval, ...) as one table row."""
    if not results:
        return ""
    head = "".join(f"<th>{_e(k)}</th>" for k in results)
    cells = "".join(f"<td>{_e(v)}</td>" for v in results.values())
    return f'<h3>Results</h3><table class="results"><tr>{head}</tr><tr>{cells}</tr></table>'


def gallery_html(*, run_id: str, brief: Brief, prompts: PromptSet, ads: list[AdRecord], totals: dict,
                 contact_sheet_name: str | None = None, videos: list[VideoRecord] | None = None,
                 encoder: dict | None = None, warnings: list[str] | None = None,
                 results: dict[int, dict[str, str]] | None = None) -> str:
    """The gallery page as a string. totals: scalar entries are shown as stats; an optional
    "per_variant" mapping (variant number -> {key: value}) is shown on each variant, its "error"
    as a warning. Videos get <video> tags under their variant; `encoder` is {"name", "reason"}.
    `warnings` about the whole run (e.g. a page of another brand) head the page.
    `results`: variant -> {label: text} of imported platform results, shown as a table per variant."""
    per_variant = totals.get("per_variant", {}) or {}
    concepts = {c.name: c for c in brief.concepts}
    by_variant: dict[int, list[AdRecord]] = defaultdict(list)
    for ad in ads:
        by_variant[ad.variant].append(ad)
    clips: dict[int, list[VideoRecord]] = defaultdict(list)
    for video in videos or []:
        clips[video.variant].append(video)
    sections = []
    for vp in sorted(prompts.variants, key=lambda v: v.variant):
        c = concepts.get(vp.concept)
        copy = (
            f'<dl class="copy"><dt>Headline</dt><dd>{_e(c.headline)}</dd><dt>Subhead</dt><dd>{_e(c.subhead)}</dd>'
            f"<dt>CTA</dt><dd>{_e(c.cta)}</dd></dl>"
            if c else ""
        )
        extra = dict(per_variant.get(vp.variant) or per_variant.get(str(vp.variant)) or {})
        error = extra.pop("error", None)
        extra_html = " · ".join(f"{_e(k.replace('_', ' '))} {_e(_fmt(k, v))}" for k, v in extra.items())
        figs = "".join(_ad_html(a) for a in by_variant.get(vp.variant, []))
        movies = "".join(_video_html(v) for v in clips.get(vp.variant, []))
        movies = f'<h3>Video</h3><div class="ads">{movies}</div>' if movies else ""
        error_html = f'<div class="warn">✗ {_e(error)}</div>' if error else ""
        error_html += _results_html((results or {}).get(vp.variant))
        sections.append(
            f'<section id="v{vp.variant:02d}"><div class="head"><h2>v{vp.variant:02d} · {_e(vp.concept)}</h2>'
            f'<span class="muted">seed {vp.seed}{" · " + extra_html if extra_html else ""}</span></div>'
            f"{error_html}{copy}<details open><summary>Scene prompt</summary><pre>{_e(vp.positive)}</pre>"
            f"<pre>negative: {_e(vp.negative)}</pre></details>"
            f'<div class="ads">{figs or "<p class=warn>No ads for this variant (its background failed).</p>"}</div>'
            f"{movies}</section>"
        )
    sheet = (
        f'<p class="sheet"><a href="{_href(contact_sheet_name)}">Contact sheet</a></p>' if contact_sheet_name else ""
    )
    scalar_totals = {k: v for k, v in totals.items() if k != "per_variant" and not isinstance(v, (dict, list))}
    meta = " · ".join(_e(x) for x in (brief.brand, brief.channel, brief.product, brief.offer) if x)
    if encoder:
        meta += f' · video encoder {_e(encoder.get("name", ""))} ({_e(encoder.get("reason", ""))})'

    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(run_id)} · ads</title><style>{CSS}</style></head><body><main>"
        f'<h1>{_e(run_id)}</h1><div class="muted">{meta}</div>'
        + "".join(f'<div class="notice">⚠ {_e(w)}</div>' for w in warnings or []) +
        f"{_totals_html(scalar_totals)}{sheet}{''.join(sections)}</main></body></html>\n"
    )


def write_gallery(path: Path, *, contact_sheet: Path | None, run_id: str, brief: Brief, prompts: PromptSet,
                  ads: list[AdRecord], totals: dict, videos: list[VideoRecord] | None = None,
                  encoder: dict | None = None, warnings: list[str] | None = None,
                  results: dict[int, dict[str, str]] | None = None) -> Path:
    """Write the gallery page to `path` (beside the ads): self-contained, relative links only, works from file://."""
    sheet = contact_sheet.name if contact_sheet is not None and contact_sheet.is_file() else None
    page = gallery_html(run_id=run_id, brief=brief, prompts=prompts, ads=ads, totals=totals,
                        contact_sheet_name=sheet, videos=videos, encoder=encoder, warnings=warnings, results=results)
    write_atomic(path, page.encode("utf-8"))
    return path
