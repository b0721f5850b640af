"""Brand kit: brand.yaml, layouts/<aspect>.yaml and channels.yaml, validated with pydantic.

Every problem becomes a ConfigError naming the file and the key path, so a marketer
editing YAML by hand sees exactly which line to fix.
"""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from PIL import Image, ImageFont, UnidentifiedImageError
from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    ValidationError,
    model_validator,
)

from creative.core.errors import ConfigError
from creative.core.images import check_pixels
from creative.core.models import Channel
from creative.core.strict import Strict
from creative.core.yaml_text import safe_load

log = logging.getLogger(__name__)

HEX_RE = re.compile(r"^#[0-9A-Fa-f]{6}$")
FONT_SUFFIXES = {".ttf", ".otf"}
LOGO_SUFFIXES = {".png", ".webp"}
# 4096 x 4096: far more than any ad needs, and a few hundred MB to decode at most.
MAX_LOGO_PIXELS = 4096 * 4096


def _check_hex(value: str) -> str:
    if not HEX_RE.match(value):
        raise ValueError(f"'{value}' is not a colour like '#1E2A3A'")
    return value.upper()


HexColor = Annotated[str, AfterValidator(_check_hex)]


class CtaStyle(Strict):
    """Defaults for the call-to-action button."""

    text: str = "Shop now"
    background: str = Field(description="brand colour name of the button")
    text_color: str = Field(description="brand colour name of the button label")
    radius: float = Field(0.5, ge=0, le=0.5, description="corner radius as a share of button height")
    padding_x: float = Field(0.9, ge=0, le=3, description="horizontal padding in ems")
    padding_y: float = Field(0.45, ge=0, le=2, description="vertical padding in ems")


class Brand(Strict):
    """brand/brand.yaml."""

    name: str = Field(min_length=1)
    colors: dict[str, HexColor] = Field(min_length=1)
    fonts: dict[str, str] = Field(min_length=1)  # role -> file in brand/fonts
    fallback_fonts: list[str] = Field(default_factory=list)  # files in brand/fonts, tried in order
    logo: str
    logo_light: str | None = None  # a variant for dark pictures, used when the logo fades into one
    logo_dark: str | None = None  # a variant for light pictures
    cta: CtaStyle
    text_colors: list[str] = Field(default_factory=list)  # colour names allowed for "auto" text
    scrim_dark: str | None = None  # colour behind light text (default: darkest colour)
    scrim_light: str | None = None  # colour behind dark text (default: lightest colour)
    voice: str = ""
    banned_words: list[str] = Field(default_factory=list)
    mood: str = ""
    palette_words: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _names_exist(self) -> Brand:
        for key in ("background", "text_color"):
            name = getattr(self.cta, key)
            if name not in self.colors:
                raise ValueError(f"cta.{key}: '{name}' is not one of colors ({', '.join(self.colors)})")
        for i, name in enumerate(self.text_colors):
            if name not in self.colors:
                raise ValueError(f"text_colors.{i}: '{name}' is not one of colors ({', '.join(self.colors)})")
        for key in ("scrim_dark", "scrim_light"):
            name = getattr(self, key)
            if name is not None and name not in self.colors:
                raise ValueError(f"{key}: '{name}' is not one of colors ({', '.join(self.colors)})")
        return self

    def rgb(self, name: str) -> tuple[int, int, int]:
        """RGB of a brand colour by name."""
        h = self.colors[name]
        return (int(h[1:3], 16), int(h[3:5], 16), int(h[5:7], 16))

    def text_color_names(self) -> list[str]:
        return self.text_colors or list(self.colors)


class Box(Strict):
    """A rectangle in fractions of the canvas."""

    x: float = Field(ge=0, le=1)
    y: float = Field(ge=0, le=1)
    w: float = Field(gt=0, le=1)
    h: float = Field(gt=0, le=1)
    align: Literal["left", "center", "right"] = "left"
    valign: Literal["top", "middle", "bottom"] = "top"

    @model_validator(mode="after")
    def _inside_canvas(self) -> Box:
        if self.x + self.w > 1 + 1e-9 or self.y + self.h > 1 + 1e-9:
            raise ValueError("box extends past the canvas (x + w and y + h must be <= 1)")
        return self

    def pixels(self, width: int, height: int) -> tuple[int, int, int, int]:
        """left, top, right, bottom in pixels."""
        return (
            round(self.x * width),
            round(self.y * height),
            round((self.x + self.w) * width),
            round((self.y + self.h) * height),
        )


class TextBox(Box):
    """A box that holds text: headline, subhead or the CTA label."""

    font: str = "bold"  # a role in brand.fonts
    min_size: int = Field(gt=0)
    max_size: int = Field(gt=0)
    max_lines: int = Field(1, ge=1)
    line_height: float = Field(1.15, ge=0.8, le=3)
    color: str = "auto"  # brand colour name or "auto"
    scrim: Literal["none", "gradient", "box"] = "none"
    follows: str | None = None  # move up to sit under this box's text when it is short
    gap: float = Field(0.015, ge=0, le=0.5)  # fraction of canvas height below `follows`

    @model_validator(mode="after")
    def _sizes(self) -> TextBox:
        if self.min_size > self.max_size:
            raise ValueError(f"min_size ({self.min_size}) is larger than max_size ({self.max_size})")
        return self


Anchor = Literal["top", "bottom", "left", "right", "center"]
LAYOUT_BOXES = ("logo", "headline", "subhead", "cta")


class BoxMove(Strict):
    """Where a box goes in another placement: any of x, y, w, h, align, valign; the rest is kept."""

    x: float | None = Field(None, ge=0, le=1)
    y: float | None = Field(None, ge=0, le=1)
    w: float | None = Field(None, gt=0, le=1)
    h: float | None = Field(None, gt=0, le=1)
    align: Literal["left", "center", "right"] | None = None
    valign: Literal["top", "middle", "bottom"] | None = None


class Placement(Strict):
    """Another anchoring of a layout's boxes; boxes not named stay where the layout puts them."""

    logo: BoxMove | None = None
    headline: BoxMove | None = None
    subhead: BoxMove | None = None
    cta: BoxMove | None = None


class Layout(Strict):
    """brand/layouts/<aspect>.yaml.

    The boxes are one placement, named by `anchor`; `placements` may offer others (top, bottom,
    left, right, center), and compose picks, per background, the one that covers the least of
    the picture's subject.
    """

    headline: TextBox
    subhead: TextBox
    cta: TextBox
    logo: Box
    anchor: Anchor = "top"
    placements: dict[Anchor, Placement] = Field(default_factory=dict)
    # QC warns when more than this share of the text, button and logo area lies on the subject
    max_subject_overlap: float = Field(0.15, ge=0, le=1)

    @model_validator(mode="after")
    def _placements_fit(self) -> Layout:
        if self.anchor in self.placements:
            raise ValueError(f"placements.{self.anchor}: is the layout's own anchor; name another placement")
        for name, move in self.placements.items():
            for key in LAYOUT_BOXES:
                try:
                    self._moved(key, getattr(move, key))
                except ValidationError as exc:
                    first = exc.errors()[0]
                    where = "".join(f".{p}" for p in first["loc"])
                    raise ValueError(f"placements.{name}.{key}{where}: "
                                     f"{first['msg'].removeprefix('Value error, ')}") from None
        return self

    def _moved(self, key: str, change: BoxMove | None) -> Box:
        box: Box = getattr(self, key)
        if change is None:
            return box
        return type(box).model_validate({**box.model_dump(), **change.model_dump(exclude_none=True)})

    def placement_names(self) -> list[str]:
        """The layout's own anchor first, then the other placements in file order."""
        return [self.anchor, *self.placements]

    def placed(self, name: str) -> Layout:
        """The layout with its boxes where placement `name` puts them (itself for its own anchor)."""
        if name == self.anchor:
            return self
        move = self.placements[name]
        boxes = {key: self._moved(key, getattr(move, key)) for key in LAYOUT_BOXES}
        return self.model_copy(update={**boxes, "anchor": name, "placements": {}})


# --- loading ------------------------------------------------------------------


def _loc(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def _validation_message(path: Path, err: ValidationError) -> str:
    first = err.errors()[0]
    msg = first["msg"].removeprefix("Value error, ")
    loc = _loc(first["loc"])
    # model validators report at the parent; their message may carry its own key path
    if ":" in msg and not first["loc"]:
        return f"{path}: {msg}"
    more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return f"{path}: {loc}: {msg}{more}"


def _read_yaml(path: Path) -> Any:
    if not path.is_file():
        raise ConfigError(f"{path}: file not found", hint="check the path or restore it from git")
    try:
        data = safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}:{where}: invalid YAML: {problem}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level, got {type(data).__name__}")
    return data


def _validate(model: type[BaseModel], path: Path, data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_validation_message(path, exc)) from exc


def _check_font(brand_dir: Path, yaml_path: Path, key: str, name: str) -> None:
    file = brand_dir / "fonts" / name
    if file.suffix.lower() not in FONT_SUFFIXES:
        raise ConfigError(f"{yaml_path}: {key}: font '{name}' must be a .ttf or .otf file")
    if not file.is_file():
        raise ConfigError(f"{yaml_path}: {key}: font file {file} not found", hint="put the font in brand/fonts/")
    try:
        # from bytes: given a path, Pillow would silently fall back to a system font of the same name
        ImageFont.truetype(io.BytesIO(file.read_bytes()), 12)
    except OSError as exc:
        raise ConfigError(f"{yaml_path}: {key}: font file {file} cannot be loaded ({exc})") from exc


def _check_logo(brand_dir: Path, yaml_path: Path, name: str, key: str = "logo") -> None:
    file = brand_dir / name
    if file.suffix.lower() not in LOGO_SUFFIXES:
        raise ConfigError(f"{yaml_path}: {key}: '{name}' must be a PNG (or WebP) with transparency")
    if not file.is_file():
        raise ConfigError(f"{yaml_path}: {key}: file {file} not found")
    try:
        check_pixels(file, MAX_LOGO_PIXELS)  # before anything decodes it
    except ValueError as exc:
        raise ConfigError(f"{yaml_path}: logo: {file} is {exc}",
                          hint="use a logo of at most a few thousand pixels a side") from None
    try:
        with Image.open(file) as im:
            im.verify()
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ConfigError(f"{yaml_path}: {key}: {file} is not a readable image ({exc})") from exc


def load_brand(brand_dir: Path) -> Brand:
    """Load and check brand/brand.yaml, its fonts and logo."""
    path = Path(brand_dir) / "brand.yaml"
    brand: Brand = _validate(Brand, path, _read_yaml(path))
    for role, name in brand.fonts.items():
        _check_font(Path(brand_dir), path, f"fonts.{role}", name)
    for i, name in enumerate(brand.fallback_fonts):
        _check_font(Path(brand_dir), path, f"fallback_fonts.{i}", name)
    for key in ("logo", "logo_light", "logo_dark"):
        if getattr(brand, key) is not None:
            _check_logo(Path(brand_dir), path, getattr(brand, key), key)
    return brand


def brand_name(brand_dir: Path) -> str:
    """The `name` in brand_dir/brand.yaml, read without checking fonts and logo (to look a brand up)."""
    path = Path(brand_dir) / "brand.yaml"
    name = _read_yaml(path).get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{path}: name: missing or empty", hint="give the brand a name, e.g. name: Lumen Skin")
    return name.strip()


def load_layout(brand_dir: Path, name: str, brand: Brand | None = None) -> Layout:
    """Load brand/layouts/<name>.yaml and check its font roles and colour names against the brand."""
    path = Path(brand_dir) / "layouts" / f"{name}.yaml"
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name) or not path.is_file():
        raise ConfigError(
            f"{path}: layout '{name}' not found",
            hint="create it in brand/layouts/ or fix the size's layout in templates/channels.yaml",
        )
    layout: Layout = _validate(Layout, path, _read_yaml(path))
    brand = brand or load_brand(brand_dir)
    for key in ("headline", "subhead", "cta"):
        box: TextBox = getattr(layout, key)
        if box.font not in brand.fonts:
            raise ConfigError(f"{path}: {key}.font: '{box.font}' is not one of brand fonts ({', '.join(brand.fonts)})")
        if box.color != "auto" and box.color not in brand.colors:
            raise ConfigError(
                f"{path}: {key}.color: '{box.color}' is not 'auto' or one of brand colors ({', '.join(brand.colors)})"
            )
        if box.follows is not None and box.follows not in ("headline", "subhead", "cta") or box.follows == key:
            raise ConfigError(f"{path}: {key}.follows: '{box.follows}' must name another text box")
    return layout


def load_channels(path: Path) -> dict[str, Channel]:
    """Load templates/channels.yaml: channel name -> Channel."""
    path = Path(path)
    data = _read_yaml(path)
    channels: dict[str, Channel] = {}
    for name, body in data.items():
        try:
            channels[str(name)] = Channel.model_validate(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise ConfigError(f"{path}: {name}.{_loc(first['loc'])}: {first['msg']}") from exc
    return channels
