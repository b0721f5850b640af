"""Facts, settings and a mock chat server for the copywriter tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from creative.brand.kit import load_brand, load_channels
from creative.core.config import load_settings
from creative.core.models import ResearchNotes
from creative.core.progress import Reporter

REPO = Path(__file__).resolve().parents[1]
PLANTED_KEY = "sk-planted-llm-5ecret-0123456789"
KEY_ENV = "CREATIVE_TEST_LLM_KEY"
IMAGE_URL = "https://shop.example/img/glow-serum-hero.jpg"


def serum_notes(**changes: Any) -> ResearchNotes:
    """A small product page's facts, with where each came from."""
    notes = ResearchNotes(
        url="https://shop.example/p/glow-serum",
        product_name="Vitamin C Glow Serum",
        brand="Lumen Skin",
        price="34.00",
        currency="USD",
        rating=4.7,
        review_count=1284,
        features=[
            "Visibly brighter skin in 4 weeks",
            "Hyaluronic acid keeps skin plump",
            "Lightweight, non-sticky texture",
            "Dermatologist tested for sensitive skin",
        ],
        description="A lightweight daily serum that brightens dull skin and evens tone.",
        image_urls=[IMAGE_URL],
        language="en",
        sources={"price": "json-ld Product.offers.price", "rating": "json-ld AggregateRating",
                 "features": "html ul.benefits"},
    )
    return notes.model_copy(update=changes)


def llm_settings(tmp_path: Path, base_url: str, **overrides: Any):
    """Settings for writer tests: the llm writer on `base_url`, runs under tmp_path, priced tokens."""
    values = {
        "paths.runs_dir": str(tmp_path / "runs"),
        "paths.brand_dir": str(REPO / "brand"),
        "paths.templates_dir": str(REPO / "templates"),
        "brief.writer": "llm",
        "brief.llm.base_url": base_url,
        "brief.llm.model": "mock-writer",
        "brief.llm.api_key_env": KEY_ENV,
        "brief.llm.usd_per_million_input_tokens": 2.5,
        "brief.llm.usd_per_million_output_tokens": 10.0,
        "brief.llm.timeout_s": 5,
    }
    values.update(overrides)
    return load_settings(None, env={}, overrides=values)


def llm_cache(settings) -> Path:
    """Where the tests keep the copywriter's answers (the run flow passes the runs folder's cache)."""
    return settings.paths.runs_dir / "llm-cache"


def brand_and_channel(settings):
    brand = load_brand(settings.brand_dir)
    channel = load_channels(settings.templates_dir / "channels.yaml")["meta_static"]
    return brand, channel


class Recorder(Reporter):
    """Keeps the lines a run would print."""

    def __init__(self) -> None:
        self.infos: list[str] = []
        self.warnings: list[str] = []

    def info(self, message: str) -> None:
        self.infos.append(message)

    def warn(self, message: str) -> None:
        self.warnings.append(message)
