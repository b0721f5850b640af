"""`creative brand init --research browser`: a shop whose header exists only after its JavaScript ran."""

from __future__ import annotations

from PIL import Image

from brand_sites import serve_brand_site
from creative.brand.init import build_brand_kit
from creative.brand.kit import load_brand
from creative.brand.select import SAMPLE_DIR
from research_site import needs_chromium

pytestmark = needs_chromium


def test_browser_backend_sees_the_script_built_header_that_static_misses(tmp_path, chromium):
    with serve_brand_site("browser") as url:
        static = build_brand_kit(url, out=tmp_path / "static", brands_dir=tmp_path, sample_dir=SAMPLE_DIR)
        rendered = build_brand_kit(url, out=tmp_path / "browser", brands_dir=tmp_path, sample_dir=SAMPLE_DIR,
                                   backend="browser", browser=chromium)

    # static: no logo in the HTML as served, so a wordmark is drawn and the user is told
    assert static.logo_source.startswith("no usable logo on the site: a wordmark")
    assert static.logo_source in static.notes

    assert (rendered.name.value, rendered.name.source) == ("Kettle & Crumb", "og:site_name")
    assert rendered.logo_source == "header image marked as a logo (/logo.png)"
    brand = load_brand(rendered.folder)
    assert brand.colors["accent"] == "#7C3AED"  # theme-color set by the script
    with Image.open(rendered.folder / "logo.png") as im:
        logo = im.convert("RGBA")
    assert logo.size == (321, 321) and logo.getpixel((30, 160))[:3] == (31, 77, 58)
    assert (rendered.folder / "brand_preview.png").is_file()
