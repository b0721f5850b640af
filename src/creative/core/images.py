"""Image size checks that read only the header: a small file can declare a canvas of billions
of pixels (a decompression bomb), and decoding it would take gigabytes of memory."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, UnidentifiedImageError

MAX_IMAGE_PIXELS = 64 * 1024 * 1024  # any background: a tiny file can claim a huge canvas


def check_pixels(source: Path | bytes, max_pixels: int) -> tuple[int, int]:
    """(width, height) of the image in `source`, read from its header without decoding pixels;
    ValueError when it has more than `max_pixels` pixels or is not an image."""
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with Image.open(stream) as img:
            width, height = img.size
    except Image.DecompressionBombError as exc:  # Pillow's own, far higher, limit
        raise ValueError(f"over the {max_pixels} pixel limit ({exc})") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValueError(f"not a readable image ({exc})") from None
    if width * height > max_pixels:
        raise ValueError(f"{width}x{height} pixels is over the {max_pixels} pixel limit")
    return width, height
