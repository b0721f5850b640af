"""Scene families: the product's category picks one; scenes never borrow another family's props."""

from __future__ import annotations

import re

import pytest

from creative.copy.phrases import ANGLE_KINDS
from creative.copy.scenes import load_scenes, pick_family, scene_for, scenes_path
from creative.core.errors import InputError
from creative.core.models import ResearchNotes

BOOK = load_scenes(str(scenes_path()))
# Words that would ask the image model to draw writing.
TEXTY = re.compile(r"\b(text|texts|signs?|signage|labels?|letters?|lettering|logos?|writing|words?|posters?|"
                   r"captions?|typography|numbers?|brand names?)\b", re.I)


def notes(**kw) -> ResearchNotes:
    return ResearchNotes(url="https://shop.example/p", **kw)


@pytest.mark.parametrize(("facts", "family"), [
    (dict(product_name="Burr Coffee Grinder", category="Kitchen appliances"), "kitchen"),
    (dict(product_name="Total Security Suite 2024", breadcrumbs=["Software", "Antivirus"],
          description="Protects your PC against viruses. Includes coffee-break scans."), "software"),
    (dict(product_name="Vitamin C Glow Serum", category="Skincare"), "beauty"),
    (dict(product_name="Single Origin Espresso Beans 1 kg", breadcrumbs=["Lebensmittel", "Kaffee"]), "food_drink"),
    (dict(product_name="Merino Crew Sweater", breadcrumbs=["Herren", "Bekleidung"]), "apparel"),
    (dict(product_name="KALLAX Shelving unit", category="Furniture"), "furniture"),
    (dict(product_name="Noise-cancelling Wireless Headphones"), "electronics"),
    (dict(product_name="Wooden Puzzle Train", category="Toys"), "toys"),
    (dict(product_name="The Silent Sea", category="Books > Fiction"), "books"),
    (dict(product_name="Gold Hoop Earrings"), "jewellery"),
    (dict(product_name="Orthopaedic Dog Bed"), "pets"),
    (dict(product_name="Kem dưỡng ẩm trà xanh"), "beauty"),
    (dict(product_name="Thing 3000"), "default"),
])
def test_category_picks_the_family(facts, family):
    assert pick_family(notes(**facts), BOOK).name == family


def test_short_keywords_are_whole_words():
    # "pan" must not match "panel" nor "pants": a solar panel is no kitchen product
    assert pick_family(notes(product_name="Solar panel kit"), BOOK).name != "kitchen"
    assert pick_family(notes(product_name="Cargo pants"), BOOK).name == "apparel"


def test_scenes_never_borrow_another_familys_props_or_mood():
    # A security suite that mentions coffee must not get coffee beans; a grinder no skincare drops.
    suite = notes(product_name="Total Security Suite", category="Software",
                  description="Scans while you make your morning coffee. Hyaluronic-fast.")
    for kind in ANGLE_KINDS:
        fam = pick_family(suite, BOOK)
        scene = scene_for(suite, kind, fam, BOOK)
        others = [f for f in BOOK.families if f.name != fam.name]
        for other in others:
            for prop in (*other.props, *(p for _, p in other.extra_props)):
                assert prop not in scene, (kind, other.name, prop)
            assert other.subject not in scene
    grinder = notes(product_name="Burr Coffee Grinder", category="Kitchen")
    fam = pick_family(grinder, BOOK)
    scene = scene_for(grinder, "benefit", fam, BOOK)
    assert "water droplets" not in scene and "coffee beans" not in scene  # beans are food_drink's
    assert fam.subject in scene


def test_extra_props_come_from_the_products_own_words():
    serum = notes(product_name="Vitamin C Glow Serum", category="Skincare")
    scene = scene_for(serum, "benefit", pick_family(serum, BOOK), BOOK)
    assert "orange slices" in scene
    rose = notes(product_name="Rose Face Oil", category="Skincare")
    assert "orange" not in scene_for(rose, "benefit", pick_family(rose, BOOK), BOOK)


def test_scene_file_is_text_free_and_complete():
    assert set(ANGLE_KINDS) <= set(BOOK.shots)
    for fam in (*BOOK.families, BOOK.default):
        for words in (fam.subject, fam.surface, fam.setting, fam.mood, *fam.props, *(p for _, p in fam.extra_props)):
            # "unlabeled" / "unbranded" say what NOT to draw; anything else texty is refused
            assert not TEXTY.search(words.replace("unlabeled", "").replace("unbranded", "")), (fam.name, words)
    for shot in BOOK.shots.values():
        assert not TEXTY.search(shot)


def test_broken_scene_file_is_a_clear_error(tmp_path):
    path = tmp_path / "scenes.yaml"
    path.write_text("shots: {offer: x}\nfamilies: {}\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"scenes.yaml: missing shots.benefit"):
        load_scenes(str(path))
    path.write_text("shots: {offer: a, benefit: a, second: a, proof: a, problem: a, product: a}\n"
                    "families: {tea: {keywords: [tea], subject: cup}}\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"scene family 'tea' has no surface, setting, mood, props"):
        load_scenes(str(path))
