"""Image export: deliverable file names and atomic, size-capped JPEG/PNG encoding."""

from __future__ import annotations

import io
import logging
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from PIL import Image, ImageCms

from creative.core.atomic import write_atomic
from creative.core.errors import ExportError
from creative.core.text import slugify

log = logging.getLogger(__name__)

JPEG_QUALITIES = tuple(range(92, 39, -4))  # 92, 88, ... 40


def ad_filename(run_id: str, variant: int, concept: str, width: int, height: int, ext: str) -> str:
    """`<run_id>_v01_<concept-slug>_<W>x<H>.<ext>`."""
    return f"{run_id}_v{variant:02d}_{slugify(concept, fallback='concept')}_{width}x{height}.{ext.lstrip('.').lower()}"


def ad_name_pattern(run_id: str) -> re.Pattern[str]:
    """Matches exactly the file names ad_filename gives for this run."""
    return re.compile(re.escape(run_id) + r"_v\d{2,}_[a-z0-9-]+_\d+x\d+\.(?:jpg|png)")


@lru_cache(maxsize=1)
def srgb_icc() -> bytes:
    """An sRGB ICC profile with its creation date zeroed so exports are byte-identical."""
    data = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    data[24:36] = bytes(12)  # header dateTimeNumber
    data[84:100] = bytes(16)  # profile ID (MD5 would cover the date); zero means "not computed"
    return bytes(data)


def encode_image(image: Image.Image, fmt: Literal["jpg", "png"], quality: int = 92) -> bytes:
    """Encode to bytes: JPEG 4:4:4 (crisp text edges) with sRGB ICC, or optimised PNG."""
    buf = io.BytesIO()
    rgb = image if image.mode == "RGB" else image.convert("RGB")  # saving never changes the image: no copy
    if fmt == "jpg":
        options = {"quality": quality, "subsampling": 0, "icc_profile": srgb_icc()}
        try:
            rgb.save(buf, "JPEG", optimize=True, **options)
        except OSError:
            # optimize needs the whole stream in one buffer of w*h bytes; pure noise can exceed it
            buf = io.BytesIO()
            rgb.save(buf, "JPEG", **options)
    elif fmt == "png":
        rgb.save(buf, "PNG", optimize=True, icc_profile=srgb_icc())
    else:
        raise ExportError(f"unsupported image format '{fmt}'", hint="use jpg or png in templates/channels.yaml")
    return buf.getvalue()


def encode_capped(image: Image.Image, fmt: Literal["jpg", "png"], max_kb: int | None, name: str | Path) -> bytes:
    """Encode; JPEG quality steps down from 92 until under max_kb. ExportError names `name` if it cannot."""
    qualities = JPEG_QUALITIES if fmt == "jpg" else (100,)
    data = b""
    for quality in qualities:
        data = encode_image(image, fmt, quality)
        if max_kb is None or len(data) <= max_kb * 1024:
            return data
        log.debug("%s: %d KB at quality %d is over %d KB", name, len(data) // 1024, quality, max_kb)
    raise ExportError(
        f"{name}: cannot get under {max_kb} KB ({len(data) // 1024} KB at the lowest setting, {fmt})",
        hint="raise max_file_kb for the channel in templates/channels.yaml or use jpg",
    )


def write_bytes(path: Path, data: bytes) -> int:
    """Write a deliverable atomically; ExportError on failure."""
    try:
        return write_atomic(Path(path), data)
    except OSError as exc:
        raise ExportError(f"{path}: cannot write ({exc.strerror})") from exc
