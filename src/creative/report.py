"""Review outputs: contact_sheet.png (all ads in a labelled grid) and index.html (the gallery)."""

from __future__ import annotations

import html
import io
import logging
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from PIL import Image, ImageDraw, ImageFont

from creative.atomic import write_atomic
from creative.export import srgb_icc
from creative.models import AdRecord, Brief, PromptSet

if TYPE_CHECKING:
    from creative.runlog import VideoRecord

log = logging.getLogger(__name__)

THUMB_W = 360
GUTTER = 24
LABEL_H = 52
SHEET_BG = (244, 243, 240)
LABEL_INK = (40, 44, 52)
LABEL_MUTED = (110, 114, 122)
SHEET_PNG_LEVEL = 1


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
            return im.convert("RGB").resize((THUMB_W, height), Image.LANCZOS)
    except (OSError, ValueError) as exc:
        log.warning("contact sheet: %s unreadable (%s); placeholder drawn", ad.path, exc)
        return Image.new("RGB", (THUMB_W, height), (200, 200, 200))


def contact_sheet(run_dir: Path, ads: list[AdRecord], font: Path | None = None) -> Image.Image:
    """All ads in a grid: one row per variant, one column per size, each labelled."""
    rows: dict[int, list[AdRecord]] = defaultdict(list)
    for ad in ads:
        rows[ad.variant].append(ad)
    cols = max((len(r) for r in rows.values()), default=1)
    row_heights = [max(round(THUMB_W * a.height / a.width) for a in rows[v]) + LABEL_H for v in sorted(rows)]
    width = GUTTER + cols * (THUMB_W + GUTTER)
    height = GUTTER + sum(h + GUTTER for h in row_heights) if rows else 2 * GUTTER + LABEL_H
    sheet = Image.new("RGB", (width, height), SHEET_BG)
    draw = ImageDraw.Draw(sheet)
    big, small = _fonts(font)
    y = GUTTER
    for v, row_h in zip(sorted(rows), row_heights):
        for i, ad in enumerate(rows[v]):
            x = GUTTER + i * (THUMB_W + GUTTER)
            thumb = _thumb(run_dir, ad)
            sheet.paste(thumb, (x, y))
            ty = y + thumb.height + 8
            draw.text((x, ty), f"v{ad.variant:02d} · {ad.concept}", font=big, fill=LABEL_INK)
            draw.text((x, ty + 22), f"seed {ad.seed} · {ad.width}x{ad.height}", font=small, fill=LABEL_MUTED)
        y += row_h + GUTTER
    if not rows:
        draw.text((GUTTER, GUTTER), "no ads in this run", font=big, fill=LABEL_INK)
    return sheet


def write_contact_sheet(run_dir: Path, ads: list[AdRecord], font: Path | None = None) -> Path:
    """Write run_dir/contact_sheet.png. `font`: a .ttf for labels (e.g. the brand's regular font)."""
    path = Path(run_dir) / "contact_sheet.png"
    write_atomic(path, _encode_sheet(contact_sheet(Path(run_dir), ads, font)))
    return path


def _encode_sheet(sheet: Image.Image) -> bytes:
    """PNG at zlib level 1: the sheet is a local preview, and optimize=True took seconds on it."""
    buf = io.BytesIO()
    sheet.convert("RGB").save(buf, "PNG", compress_level=SHEET_PNG_LEVEL, icc_profile=srgb_icc())
    return buf.getvalue()


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
    return f'<div class="qc">{verdict} · <span class="muted">{facts}</span></div>{table}'


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


def gallery_html(*, run_id: str, brief: Brief, prompts: PromptSet, ads: list[AdRecord], totals: dict,
                 contact_sheet_name: str | None = None, videos: list[VideoRecord] | None = None,
                 encoder: dict | None = None) -> str:
    """The gallery page as a string. totals: scalar entries are shown as stats; an optional
    "per_variant" mapping (variant number -> {key: value}) is shown on each variant, its "error"
    as a warning. Videos get <video> tags under their variant; `encoder` is {"name", "reason"}."""
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
        f"{_totals_html(scalar_totals)}{sheet}{''.join(sections)}</main></body></html>\n"
    )


def write_gallery(run_dir: Path, *, run_id: str, brief: Brief, prompts: PromptSet, ads: list[AdRecord],
                  totals: dict, videos: list[VideoRecord] | None = None, encoder: dict | None = None) -> Path:
    """Write run_dir/index.html: self-contained, relative links only, works from file://."""
    run_dir = Path(run_dir)
    sheet = "contact_sheet.png" if (run_dir / "contact_sheet.png").is_file() else None
    page = gallery_html(run_id=run_id, brief=brief, prompts=prompts, ads=ads, totals=totals,
                        contact_sheet_name=sheet, videos=videos, encoder=encoder)
    path = run_dir / "index.html"
    write_atomic(path, page.encode("utf-8"))
    return path
