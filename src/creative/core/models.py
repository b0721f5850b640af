"""Pydantic models shared by the stages. Stages talk through these and the run folder."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from creative.core.strict import Strict


# --- research -----------------------------------------------------------------


class ResearchNotes(Strict):
    """Facts scraped from the product page. Images are reference only.

    Prices are plain decimal strings with a '.' ("997.00"), VAT included, as the page shows them
    now; `regular_price` is the was-price when the page shows a sale. Unknown facts stay None.
    """

    url: str
    final_url: str | None = None
    backend: str = "static"
    title: str | None = None
    description: str | None = None
    product_name: str | None = None  # h1 / structured name, shop chrome stripped
    brand: str | None = None  # the maker; the retailer only on its own shop
    site_name: str | None = None  # the retailer / shop
    price: str | None = None  # None when 0, absent or doubtful
    regular_price: str | None = None  # the was-price when `price` is a sale price
    currency: str | None = None  # ISO 4217
    availability: str | None = None
    rating: float | None = None  # on the page's scale
    rating_scale: float | None = None  # bestRating; None when the scale is unknown
    review_count: int | None = None
    category: str | None = None
    breadcrumbs: list[str] = Field(default_factory=list)
    features: list[str] = Field(default_factory=list)
    main_text: str | None = None
    image_urls: list[str] = Field(default_factory=list)
    language: str | None = None  # 2-letter code
    locale: str | None = None  # e.g. "pl_PL", for Babel
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
    notes: list[str] = Field(default_factory=list)  # for the reader: dropped angles, language fallback


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


class VisualCheck(Strict):
    """What the eye sees on one ad: where the copy went, and how button, logo and subject fare.

    Saliency is 0 on calm backdrop and 1 on the subject or busy texture (render/saliency.py).
    """

    placement: str  # the layout placement chosen (top, bottom, left, right, center)
    placement_score: float  # mean saliency under the drawn text, button and logo (lower is better)
    placement_scores: dict[str, float] = Field(default_factory=dict)  # every placement that fitted
    crop: tuple[int, int] = (0, 0)  # top-left of the ad in the background scaled to cover it
    cta_contrast: float | None = None  # button (or its outline) against the picture around it
    cta_fix: str | None = None  # e.g. "outline ink", "colour cream" when the brand button faded
    logo_contrast: float | None = None  # logo (or its badge) against the picture around it
    logo_fix: str | None = None  # e.g. "logo_dark", "badge ink"
    required_contrast: float = 3.0  # WCAG 2.1 non-text contrast
    subject_overlap: float = 0.0  # share of text, button and logo area on salient pixels
    subject_overlap_max: float = 1.0  # the layout's max_subject_overlap
    subject_cut: float = 0.0  # largest share of a subject the crop cuts away
    subject_cut_max: float = 1.0

    @property
    def failed(self) -> list[str]:
        """Names of the checks that failed."""
        out = []
        if self.cta_contrast is not None and self.cta_contrast < self.required_contrast:
            out.append("cta_contrast")
        if self.logo_contrast is not None and self.logo_contrast < self.required_contrast:
            out.append("logo_contrast")
        if self.subject_overlap > self.subject_overlap_max:
            out.append("subject_overlap")
        if self.subject_cut > self.subject_cut_max:
            out.append("subject_cut")
        return out


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
    visual: VisualCheck | None = None  # placement, CTA/logo contrast on the picture, subject overlap and cut
    errors: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors
