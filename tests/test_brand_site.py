"""The parts of brand init: page facts, CSS colours and fonts, palette, voice, font match, logo checks."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from brand_sites import serve_brand_site
from creative.brand.css import read_css
from creative.brand.download import AssetError, fetch_asset
from creative.brand.fonts import choose_font, installed_match
from creative.brand.logo import LogoRejected, _safe_svg, decode_raster, render_svg, tidy
from creative.brand.palette import Candidate, choose_palette, palette_word
from creative.brand.select import SAMPLE_DIR
from creative.brand.site import read_site
from creative.brand.voice import voice_hints


def test_name_comes_from_organization_then_site_name_then_title():
    graph = """<script type="application/ld+json">{"@context":"https://schema.org","@graph":[
      {"@type":"WebSite","name":"Shop home"},{"@type":"Organization","name":"Acme Tools","logo":"/a.png"}]}</script>"""
    org = read_site(f"<html><head>{graph}<meta property='og:site_name' content='Acme'></head></html>", "http://x/")
    assert (org.name.value, org.name.source) == ("Acme Tools", "structured data Organization.name")
    assert org.logos[0].url == "http://x/a.png"
    og = read_site("<html><head><meta property='og:site_name' content='Acme'><title>T | U</title></head></html>",
                   "http://x/")
    assert (og.name.value, og.name.source) == ("Acme", "og:site_name")
    title = read_site("<html><head><title>Spring sale | Acme Tools</title></head></html>", "http://x/")
    assert (title.name.value, title.name.source) == ("Acme Tools", "<title>")


def test_logo_candidates_in_order_header_before_body_icons_largest_first():
    html = """<html><head>
      <link rel="icon" sizes="16x16" href="/f16.png"><link rel="icon" sizes="192x192" href="/f192.png">
      <link rel="apple-touch-icon" href="/touch.png"></head><body>
      <main><img class="logo" src="/body-logo.png"></main>
      <header><a class="logo"><img src="/head.png"></a><img src="/banner.png"></header></body></html>"""
    facts = read_site(html, "http://x/")
    assert [c.url for c in facts.logos] == ["http://x/head.png", "http://x/body-logo.png", "http://x/touch.png",
                                            "http://x/f192.png", "http://x/f16.png"]


def test_css_custom_properties_counts_var_uses_media_and_fonts():
    css = read_css("""
      :root { --brand-primary: #0A7; --glass: rgba(255,255,255,0.2); }
      body { font-family: "Work Sans", Arial, sans-serif; color: #222; }
      h1 { font-family: 'Fraunces', serif; color: var(--brand-primary); }
      .a { background: var(--brand-primary); } .b { border: 1px solid #222222; }
      @media (min-width: 600px) { .c { background-color: hsl(0, 100%, 50%); } }
      .d { font-family: sans-serif; }
    """, "site.css")
    assert css.custom_properties == {"--brand-primary": ((0, 170, 119), "CSS custom property --brand-primary in site.css")}
    assert css.colour_counts[(0, 170, 119)] == 2  # two var() uses
    assert css.colour_counts[(34, 34, 34)] == 2 and css.colour_counts[(255, 0, 0)] == 1  # @media counted
    assert (255, 255, 255) not in css.colour_counts  # see-through colours say little about a brand
    assert dict(css.body_families) == {"Work Sans": 1} and dict(css.heading_families) == {"Fraunces": 1}


def test_palette_for_a_monochrome_site_uses_ink_for_the_button():
    pal = choose_palette([Candidate((17, 17, 17), "body color", 5), Candidate((250, 250, 250), "background", 5)])
    assert (pal.ink.value, pal.paper.value, pal.accent.value) == ("#111111", "#FAFAFA", "#111111")
    assert pal.accent_2 is None and pal.cta_text == "paper"
    assert "no saturated colour" in pal.accent.source


def test_palette_defaults_say_so_and_accents_are_distinct():
    pal = choose_palette([Candidate((200, 40, 40), "a", 10), Candidate((205, 45, 42), "b", 9),
                          Candidate((20, 90, 200), "c", 5)])
    assert pal.ink.source.startswith("default") and pal.paper.source.startswith("default")
    assert (pal.accent.value, pal.accent_2.value) == ("#C82828", "#145AC8")  # near-duplicate b skipped


@pytest.mark.parametrize("rgb, word", [((31, 77, 58), "deep green"), ((242, 232, 213), "warm cream"),
                                       ((17, 17, 17), "black"), ((43, 108, 176), "blue"), ((226, 114, 91), "coral")])
def test_palette_words(rgb, word):
    assert palette_word(rgb) == word


def test_voice_hints():
    assert voice_hints(None, []) is None
    v = voice_hints("Grab one today! Limited run.", ["Big flavour, small batch"])
    assert "uses exclamation marks" in v.summary and "'you'" not in v.summary and "short sentences" in v.summary
    assert v.samples == ["Big flavour, small batch", "Grab one today! Limited run."]
    assert "speaks to the reader as 'you'" in voice_hints("Made for yours truly.", []).summary


def test_installed_font_is_matched_only_by_its_own_family():
    found = installed_match("DejaVu Serif", "bold")
    assert found is not None and found[1].name == "DejaVuSerif-Bold.ttf"
    assert installed_match("Work Sans", "regular") is None  # fc-match's substitute does not count
    choice = choose_font("regular", "Work Sans", "font-family of body in a.css", SAMPLE_DIR / "fonts")
    assert choice.file == SAMPLE_DIR / "fonts" / "NotoSans-Regular.ttf" and "not installed" in choice.note


def test_svg_loses_references_to_files_and_urls_but_keeps_shapes():
    svg = b"""<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="40" height="40">
      <rect width="40" height="40" fill="#ff0000"/><image href="/etc/hostname" width="4" height="4"/>
      <image xlink:href="http://example.com/x.png" width="4" height="4"/></svg>"""
    safe = _safe_svg(svg)
    assert "/etc/hostname" not in safe and "example.com" not in safe and "<rect" in safe
    image = render_svg(svg)
    assert image.size == (1024, 1024) and image.getpixel((512, 512)) == (255, 0, 0, 255)


def test_raster_pixel_count_is_checked_before_decoding_and_tiny_icons_refused():
    buf = io.BytesIO()
    Image.new("L", (4100, 4100)).save(buf, "PNG")
    with pytest.raises(LogoRejected, match="4100x4100 pixels, over the 16,000,000-pixel limit"):
        decode_raster(buf.getvalue())
    with pytest.raises(LogoRejected, match="not a readable image"):
        decode_raster(b"<html>not an image</html>")
    with pytest.raises(LogoRejected, match="too small"):
        tidy(Image.new("RGBA", (16, 16), (0, 0, 0, 255)))
    with pytest.raises(LogoRejected, match="fully transparent"):
        tidy(Image.new("RGBA", (64, 64), (0, 0, 0, 0)))


def test_downloads_follow_the_size_cap_and_content_type():
    with serve_brand_site("structured") as url:
        ok = fetch_asset(url + "css/site.css", accept=("text/css",), max_bytes=10_000, timeout_s=5)
        assert b"--brand-green" in ok.body and ok.content_type == "text/css"
        with pytest.raises(AssetError, match="over the 100-byte limit"):
            fetch_asset(url + "css/site.css", accept=("text/css",), max_bytes=100, timeout_s=5)
        with pytest.raises(AssetError, match="content-type text/html is not image/"):
            fetch_asset(url, accept=("image/",), max_bytes=10_000, timeout_s=5)
        with pytest.raises(AssetError, match="HTTP 404"):
            fetch_asset(url + "missing.png", accept=("image/",), max_bytes=10_000, timeout_s=5)


def test_a_vivid_dark_colour_is_an_accent_not_the_text_ink():
    pal = choose_palette([Candidate((105, 47, 158), "logo", 40), Candidate((255, 255, 255), "logo", 10)])
    assert pal.ink.value == "#111111" and pal.accent.value == "#692F9E" and pal.paper.value == "#FFFFFF"
