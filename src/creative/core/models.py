"""Pydantic models shared by the stages. Stages talk through these and the run folder."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    """Base for every model: unknown keys are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


# --- research -----------------------------------------------------------------


class ResearchNotes(Strict):
    """Facts scraped from the product page. Images are reference only."""

    url: str
    final_url: str | None = None
    backend: str = "static"
    title: str | None = None
    description: str | None = None
    product_name: str | None = None
    brand: str | None = None
    price: str | None = None
    currency: str | None = None
    availability: str | None = None
    rating: float | None = None
    review_count: int | None = None
    features: list[str] = Field(default_factory=list)
    main_text: str | None = None
    image_urls: list[str] = Field(default_factory=list)
    language: str | None = None
    sources: dict[str, str] = Field(default_factory=dict)  # fact name -> where it came from


# --- brief --------------------------------------------------------------------


class Concept(Strict):
    """One creative direction: the copy drawn on the ad and the scene behind it."""

    name: str
    headline: str
    subhead: str = ""
    cta: str
    scene: str
    mood: str = ""


class Brief(Strict):
    """brief.md: YAML header plus concepts from the body."""

    brand: str
    channel: str
    format: str = "static"
    offer: str | None = None
    cta: str | None = None
    product: str | None = None
    url: str | None = None
    must_have: list[str] = Field(default_factory=list)
    avoid: list[str] = Field(default_factory=list)
    concepts: list[Concept] = Field(min_length=2)


class WriterRecord(Strict):
    """Who wrote the brief's copy and what the copywriter model cost (runlog.json `writer`)."""

    writer: Literal["rules", "llm"] = "rules"  # the writer that was asked for
    model: str | None = None
    base_url: str | None = None  # credentials masked
    requests: int = 0  # answers used, from the server or the cache
    cache_hits: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    response_format: str | None = None  # json_schema, json_schema_loose, json_object or none: what the server took
    from_model: list[str] = Field(default_factory=list)  # concept names written by the model
    repaired: list[str] = Field(default_factory=list)  # of those, the ones fixed by the repair round
    from_rules: list[str] = Field(default_factory=list)  # concept names written by the rules drafter
    notes: dict[str, str] = Field(default_factory=dict)  # concept name -> why the rules drafter's copy is there
    left_out: dict[str, str] = Field(default_factory=dict)  # angle -> why the brief has no concept for it
    fallback: str | None = None  # why the whole brief came from the rules drafter


# --- prompts ------------------------------------------------------------------


class VariantPrompt(Strict):
    """The scene prompt for one variant, with an explicit seed."""

    variant: int = Field(ge=1)
    concept: str
    positive: str
    negative: str
    seed: int = Field(ge=0, lt=2**63)
    width: int = 1024
    height: int = 1024


class PromptSet(Strict):
    """prompts.json."""

    variants: list[VariantPrompt]


# --- channels -----------------------------------------------------------------


class SafeZone(Strict):
    """Margins, as fractions of the canvas, that text and logo must stay inside."""

    top: float = Field(0.05, ge=0, lt=0.5)
    bottom: float = Field(0.05, ge=0, lt=0.5)
    left: float = Field(0.05, ge=0, lt=0.5)
    right: float = Field(0.05, ge=0, lt=0.5)


class AdSize(Strict):
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    layout: str  # name of brand/layouts/<layout>.yaml
    format: Literal["jpg", "png"] = "jpg"

    @property
    def label(self) -> str:
        return f"{self.width}x{self.height}"


class VideoSettings(Strict):
    duration_s: float = Field(gt=0)
    fps: int = 30


class Channel(Strict):
    description: str = ""
    sizes: list[AdSize] = Field(min_length=1)
    safe_zone: SafeZone = Field(default_factory=SafeZone)
    max_file_kb: int | None = None
    headline_max_chars: int = 40
    video: VideoSettings | None = None


# --- generation ---------------------------------------------------------------


class Attempt(Strict):
    """One submission of one variant to one server."""

    server: str
    prompt_id: str
    started_at: float
    ended_at: float | None = None
    outcome: Literal["queued", "ok", "error", "timeout", "cancelled"] = "ok"
    error: str | None = None
    billed: bool = False  # the server made the image (paid for), even if it then failed to arrive
    gpu_seconds: float | None = None  # execution time the provider measured, where it reports one
    cost_usd: float = 0.0  # at the backend's price; counted only when billed


class GenerationResult(Strict):
    """Outcome of one variant's background generation."""

    variant: int
    ok: bool
    path: str | None = None  # relative to the run folder
    seed: int
    graph_sha256: str | None = None
    cached: bool = False
    attempts: list[Attempt] = Field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0


# --- compose / export -----------------------------------------------------------


class BoxCheck(Strict):
    """QC of one drawn box: where it ended up and how readable it is."""

    box: str
    text: str = ""  # the copy asked for (normalised)
    drawn: str | None = None  # exactly what the engine drew: its wrapped lines joined with "\n"
    font_size: int | None = None
    bounds: tuple[int, int, int, int] | None = None  # left, top, right, bottom in pixels
    contrast: float | None = None
    inside_safe_zone: bool = True


class AdRecord(Strict):
    """One finished ad file."""

    variant: int
    concept: str
    seed: int
    width: int
    height: int
    path: str  # relative to the run folder
    bytes: int = 0
    sha256: str | None = None
    boxes: list[BoxCheck] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    qc: AdQC | None = None


class VideoRecord(Strict):
    """One encoded video ad file."""

    variant: int
    width: int
    height: int
    path: str  # relative to the run folder
    bytes: int = 0
    sha256: str | None = None
    seconds: float = 0.0  # encode time
    encoder: str | None = None  # may differ from RunLog.encoder after an NVENC -> libx264 fallback
    duration_s: float | None = None
    fps: int | None = None


class ContrastCheck(Strict):
    """Measured contrast of one text box against its WCAG AA threshold."""

    box: str
    value: float
    required: float
    ok: bool


class AdQC(Strict):
    """Objective checks on one ad. `errors` block the run; `warnings` are reported."""

    size: str  # drawn WxH
    expected_size: str
    aspect: str  # reduced, e.g. "4:5"
    size_ok: bool
    safe_zone_ok: bool
    outside_safe_zone: list[str] = Field(default_factory=list)  # box names
    contrast: list[ContrastCheck] = Field(default_factory=list)
    text_share: float  # share of the canvas under text boxes
    text_share_ok: bool
    copy_ok: bool
    copy_mismatches: list[str] = Field(default_factory=list)  # box names
    errors: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


AdRecord.model_rebuild()
