"""`creative brand init` on the project's own fixture shops, one per kind of logo, static backend."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from PIL import Image
from typer.testing import CliRunner

from brand_sites import serve_brand_site
from creative.brand.init import FetchLimits, build_brand_kit
from creative.brand.kit import load_brand
from creative.brand.preview import AD_SHOWN, MARGIN, WIDTH
from creative.brand.select import SAMPLE_DIR
from creative.cli import app
from creative.core.errors import InputError, ResearchError


def _build(site: str, out: Path, **kw):
    with serve_brand_site(site) as url:
        return build_brand_kit(url, out=out, brands_dir=out.parent, sample_dir=SAMPLE_DIR, **kw)


def _close(a, b, tol=6) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a[:3], b[:3]))


def _logo(folder: Path) -> Image.Image:
    with Image.open(folder / "logo.png") as im:
        assert im.format == "PNG"
        return im.convert("RGBA")


def _value_lines_without_comment(text: str) -> list[str]:
    """Lines holding a value with no comment line directly above them."""
    lines = text.splitlines()
    bare = []
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or stripped.endswith(":"):
            continue  # blank, comment, or a section header (colors:, fonts:, cta:)
        above = lines[i - 1].strip() if i else ""
        if not above.startswith("#"):
            bare.append(line)
    return bare


def test_structured_logo_name_palette_fonts_and_voice(tmp_path):
    result = _build("structured", tmp_path / "northbean")
    folder = result.folder
    assert (result.name.value, result.name.source) == ("Northbean Roasters", "structured data Organization.name")
    assert result.logo_source == "structured data Organization.logo"

    brand = load_brand(folder)  # loads like a hand-written kit
    assert brand.name == "Northbean Roasters"
    assert brand.colors["accent"] == "#1F4D3A"  # theme-color
    assert brand.colors["accent_2"] == "#C8743C"  # --brand-copper
    assert brand.colors["paper"] == "#F2E8D5" and brand.colors["ink"] == "#1A1A1A"
    assert brand.cta.background == "accent" and brand.cta.text_color == "paper"
    assert "deep green" in brand.palette_words
    # DejaVu Serif is installed: copied and used; Work Sans is not: bundled Noto Sans, said so
    assert brand.fonts == {"bold": "DejaVuSerif-Bold.ttf", "regular": "NotoSans-Regular.ttf"}
    assert (folder / "fonts" / "DejaVuSerif-Bold.ttf").is_file()
    assert brand.fallback_fonts == ["DejaVuSans.ttf"]  # Noto Sans Regular is a role font already
    assert "speaks to the reader as 'you'" in brand.voice and "coffee" in brand.voice

    text = (folder / "brand.yaml").read_text(encoding="utf-8")
    assert _value_lines_without_comment(text) == []
    assert '# <meta name="theme-color">\n  accent: "#1F4D3A"' in text
    assert "# CSS custom property --brand-copper in /css/site.css\n  accent_2:" in text
    assert re.search(r"# site font 'Work Sans' \(font-family of body in /css/site.css\) is not installed", text)
    assert "fonts.example.net" not in text  # a font CDN's stylesheet is not the site's own

    logo = _logo(folder)
    assert logo.size == (321, 321)  # the transparent margin is trimmed
    assert _close(logo.getpixel((125, 160)), (242, 232, 213))  # the cream bean
    assert _close(logo.getpixel((30, 160)), (31, 77, 58))  # the green roundel
    assert logo.getpixel((2, 2))[3] == 0  # transparency kept outside the roundel
    assert sorted(p.name for p in (folder / "layouts").iterdir()) == ["191x100.yaml", "1x1.yaml", "4x5.yaml",
                                                                       "9x16.yaml"]


def test_preview_shows_palette_logo_on_light_and_dark_and_a_sample_ad(tmp_path):
    folder = _build("structured", tmp_path / "northbean").folder
    brand = load_brand(folder)
    with Image.open(folder / "brand_preview.png") as im:
        sheet = im.convert("RGB")
    assert sheet.size == (1200, 1520)
    names = list(brand.colors)
    sw = (WIDTH - 2 * MARGIN - 20 * (len(names) - 1)) // len(names)
    for i, name in enumerate(names):  # one swatch per colour, in order
        assert sheet.getpixel((MARGIN + i * (sw + 20) + 10, 170)) == brand.rgb(name), name
    half = (WIDTH - 2 * MARGIN - 20) // 2
    assert sheet.getpixel((MARGIN + 5, 535)) == brand.rgb("paper")  # logo on light
    assert sheet.getpixel((MARGIN + half + 25, 535)) == brand.rgb("ink")  # logo on dark
    assert _close(sheet.getpixel((MARGIN + half // 2 - 75, 530 + 130)), brand.rgb("accent"), 10)  # the roundel
    ad = sheet.crop((MARGIN, 860, MARGIN + AD_SHOWN[0], 860 + AD_SHOWN[1]))
    button = sum(n for n, p in ad.getcolors(AD_SHOWN[0] * AD_SHOWN[1]) if _close(p, brand.rgb("accent"), 12))
    assert button > 400  # the CTA pill in the accent colour
    assert len(ad.crop((20, 60, 300, 140)).getcolors(280 * 80)) > 20  # the headline is drawn, not an empty band


def test_header_image_with_logo_class_vietnamese_name(tmp_path):
    result = _build("header_img", tmp_path / "tra")
    assert (result.name.value, result.name.source) == ("Nhà Trà Mộc", "og:site_name")
    assert result.logo_source == "header image marked as a logo (/img/mark.png)"
    logo = _logo(result.folder)
    assert logo.size == (441, 141)
    assert _close(logo.getpixel((90, 70)), (176, 84, 52))
    brand = load_brand(result.folder)
    assert brand.colors["paper"] == "#FBF6EE"
    assert brand.colors["accent"] == "#B05434"
    assert "bạn" not in brand.voice.lower() or "'you'" in brand.voice  # 'bạn' is read as addressing the reader


def test_inline_svg_logo_is_rendered_without_its_file_reference(tmp_path):
    result = _build("svg_inline", tmp_path / "fernway")
    assert result.logo_source == "header inline SVG marked as a logo"
    logo = _logo(result.folder)
    assert logo.size == (973, 512)  # rendered at 1024 px wide, then the empty right edge trimmed
    assert _close(logo.getpixel((256, 256)), (0x2B, 0x6C, 0xB0))
    assert _close(logo.getpixel((870, 400)), (0xF6, 0xAD, 0x55))
    assert load_brand(result.folder).colors["accent"] == "#2B6CB0"  # theme-color


def test_linked_svg_logo(tmp_path):
    result = _build("svg_linked", tmp_path / "saltmarsh")
    assert result.name.value == "Saltmarsh Candles"
    assert result.logo_source == "header SVG image marked as a logo (/logo.svg)"
    logo = _logo(result.folder)
    assert logo.size == (922, 342)  # 1024 px wide as drawn, less the SVG's empty margins
    assert _close(logo.getpixel((170, 171)), (0x0F, 0x76, 0x6E))
    assert load_brand(result.folder).colors["accent"] == "#0F766E"  # the logo's dominant colour


def test_apple_touch_icon_is_the_last_resort(tmp_path):
    result = _build("touch_icon", tmp_path / "plumline")
    assert result.logo_source == "<link rel=apple-touch-icon> (/apple-touch-icon.png)"
    logo = _logo(result.folder)
    assert logo.size == (180, 180)  # not the 16 px favicon
    assert logo.getpixel((90, 90))[:3] == (255, 255, 255) and _close(logo.getpixel((5, 5)), (108, 52, 160))


def test_oversized_logo_is_refused_by_pixel_count_and_the_next_one_used(tmp_path):
    result = _build("oversized", tmp_path / "bigmark")
    assert result.logo_source == "header image marked as a logo (/small-logo.png)"
    assert any("5000x5000 pixels, over the 16,000,000-pixel limit" in n for n in result.notes)


def test_never_overwrites_without_force_and_force_replaces(tmp_path):
    out = tmp_path / "northbean"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    with pytest.raises(InputError) as err:
        _build("structured", out)
    assert str(out) in err.value.message and "--force" in err.value.user_message()
    assert err.value.exit_code == 2
    assert (out / "mine.txt").read_text() == "keep me" and not (out / "brand.yaml").exists()

    result = _build("structured", out, force=True)
    assert result.replaced and (out / "brand.yaml").is_file() and not (out / "mine.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["northbean"]  # no temporary folder left behind


def test_cli_brand_init_writes_brands_name_and_refuses_a_second_time(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for var in ("CREATIVE_BRANDS_DIR", "CREATIVE_BRAND", "CREATIVE_RESEARCH_BACKEND"):
        monkeypatch.delenv(var, raising=False)
    runner = CliRunner()
    with serve_brand_site("header_img") as url:
        first = runner.invoke(app, ["brand", "init", "--url", url])
        assert first.exit_code == 0, first.output
        folder = tmp_path / "brands" / "nha-tra-moc"
        assert first.stdout.strip().splitlines()[-1] == str(folder)
        assert "brand_preview.png" in first.stderr and "--brand nha-tra-moc" in first.stderr
        assert yaml.safe_load((folder / "brand.yaml").read_text(encoding="utf-8"))["name"] == "Nhà Trà Mộc"
        before = (folder / "brand.yaml").read_bytes()

        again = runner.invoke(app, ["brand", "init", "--url", url])
        # main() turns the error into one stderr line and exit code 2
        assert again.exit_code == 2 and again.stderr.startswith("error: ")  # one clear line, exit 2
        assert str(folder) in again.stderr
        assert (folder / "brand.yaml").read_bytes() == before


def test_cli_brand_init_refuses_a_non_http_address_and_firecrawl(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    bad = runner.invoke(app, ["brand", "init", "--url", "shop.html"])
    assert bad.exit_code == 2 and "http(s)://" in bad.stderr
    with serve_brand_site("structured") as url:
        fc = runner.invoke(app, ["brand", "init", "--url", url, "--research", "firecrawl"])
    assert fc.exit_code == 2 and "static or browser" in fc.stderr
    assert not (tmp_path / "brands").exists()


def test_robots_txt_is_followed_unless_ignored(tmp_path):
    with pytest.raises(ResearchError) as err:
        _build("robots_blocked", tmp_path / "private")
    assert "robots.txt" in err.value.message and err.value.exit_code == 2
    assert not (tmp_path / "private").exists()
    result = _build("robots_blocked", tmp_path / "private", limits=FetchLimits(ignore_robots=True))
    assert result.name.value == "Private Label" and (result.folder / "logo.png").is_file()
