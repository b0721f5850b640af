"""Settings: defaults < creative.yaml < CREATIVE_* environment < command-line flags.

Secrets (API keys) come from the environment only and are never written to a run folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from creative.core.errors import ConfigError
from creative.core.redact import redact_url
from creative.core.strict import Strict
from creative.core.yaml_text import safe_load

DEFAULT_CONFIG_NAME = "creative.yaml"
DEFAULT_COMFY_URL = "http://127.0.0.1:8188"
# The checkout this package was installed from; used when the working folder has no brand/ or templates/.
SOURCE_ROOT = Path(__file__).resolve().parents[3]


class BackendSettings(Strict):
    """One generation backend: a ComfyUI server, or a RunPod serverless endpoint, with its price."""

    type: Literal["comfyui", "runpod"] = "comfyui"
    url: str | None = None  # comfyui: the server
    endpoint_id: str | None = None  # runpod
    api_key_env: str = "RUNPOD_API_KEY"  # runpod: the environment variable holding the API key
    base_url: str | None = None  # runpod: default https://api.runpod.ai (a mock's address in tests)
    usd_per_image: float | None = Field(None, ge=0)
    usd_per_gpu_hour: float | None = Field(None, ge=0)
    bill_cold_start: bool = True

    @model_validator(mode="after")
    def _complete(self) -> BackendSettings:
        if self.type == "comfyui" and not self.url:
            raise ValueError("a comfyui backend needs url")
        if self.type == "runpod" and not self.endpoint_id:
            raise ValueError("a runpod backend needs endpoint_id")
        return self


class ComfySettings(Strict):
    urls: list[str] = Field(default_factory=lambda: [DEFAULT_COMFY_URL], min_length=1)
    backends: list[BackendSettings] = Field(default_factory=list)  # when set, used instead of urls
    timeout_s: float = Field(600.0, gt=0)
    workflow: str | None = None  # path to an API-format workflow; default: templates/workflows/sdxl_txt2img.json


class BudgetSettings(Strict):
    monthly_cap_usd: float = Field(500.0, ge=0)
    cost_per_image_usd: float = Field(0.04, ge=0)
    timezone: str | None = None  # IANA name; default: the machine's local time
    fallback_gpu_seconds: float = Field(60.0, gt=0)  # per image, to estimate GPU-hour prices before any timing


class PathSettings(Strict):
    runs_dir: Path = Path("runs")
    brand_dir: Path | None = None  # one brand folder; `brand` picks one of brands_dir instead
    brands_dir: Path = Path("brands")  # brands side by side: brands/<name>/brand.yaml
    templates_dir: Path | None = None


class ResearchSettings(Strict):
    backend: Literal["auto", "static", "browser", "firecrawl"] = "auto"
    timeout_s: float = Field(15.0, gt=0)
    max_bytes: int = Field(5_000_000, gt=0)
    ignore_robots: bool = False
    chromium_path: str | None = None  # default: chromium found on PATH
    firecrawl_api_url: str | None = None  # default: Firecrawl's cloud; the key comes from FIRECRAWL_API_KEY only
    firecrawl_cost_per_scrape_usd: float = Field(0.001, ge=0)


class ExperimentSettings(Strict):
    """Keep-or-kill criteria for `creative experiment report`."""

    campaigns: int = Field(3, ge=1)  # campaigns to ship before a verdict
    throughput_factor: float = Field(2.0, gt=0)  # keep when B makes variants this many times faster than A
    metric: Literal["cpa", "ctr", "cpc"] = "cpa"  # performance compared at equal spend (ctr/cpc for awareness)
    confidence: float = Field(0.95, gt=0.5, lt=1)  # P(best) needed to call a winner


class LlmSettings(Strict):
    """An OpenAI-compatible chat endpoint for the copywriter model (Ollama, vLLM, llama.cpp, LM Studio, OpenAI)."""

    base_url: str = "http://localhost:11434/v1"
    model: str = "llama3.1"
    api_key_env: str = "OPENAI_API_KEY"  # name of the environment variable holding the key; the key is never stored
    usd_per_million_input_tokens: float = Field(0.0, ge=0)
    usd_per_million_output_tokens: float = Field(0.0, ge=0)
    timeout_s: float = Field(120.0, gt=0)


class BriefSettings(Strict):
    writer: Literal["rules", "llm"] = "rules"
    # Set by an explicit `--writer llm`: a failing model ends the command (exit 1) instead of falling back.
    llm_required: bool = False
    llm: LlmSettings = Field(default_factory=LlmSettings)


class Settings(Strict):
    comfyui: ComfySettings = Field(default_factory=ComfySettings)
    budget: BudgetSettings = Field(default_factory=BudgetSettings)
    paths: PathSettings = Field(default_factory=PathSettings)
    research: ResearchSettings = Field(default_factory=ResearchSettings)
    experiment: ExperimentSettings = Field(default_factory=ExperimentSettings)
    brand: str | None = None  # a brand in paths.brands_dir, by folder name or brand.yaml name
    brief: BriefSettings = Field(default_factory=BriefSettings)
    variants: int = Field(6, ge=1, le=100)
    # H.264 encoder for video channels: auto = NVENC when a test encode works, else libx264.
    encoder: Literal["auto", "nvenc", "x264"] = "auto"
    ffmpeg: str = "ffmpeg"  # binary (name on PATH or path) used for video export

    @property
    def brand_dir(self) -> Path:
        return self.paths.brand_dir or _first_existing("brand")

    @property
    def templates_dir(self) -> Path:
        return self.paths.templates_dir or _first_existing("templates")

    def redacted(self) -> dict[str, Any]:
        """The settings as recorded in a runlog (no secrets are held here, paths as text)."""
        data = self.model_dump(mode="json")
        llm = data["brief"]["llm"]
        llm["base_url"] = redact_url(llm["base_url"])  # a password in the endpoint's URL stays out
        return data


def _first_existing(name: str) -> Path:
    """`./<name>` when the working folder has one, else the packaged sample."""
    local = Path.cwd() / name
    return local if local.is_dir() else SOURCE_ROOT / name


# Environment variables and the setting each one overrides.
ENV_KEYS: dict[str, tuple[str, ...]] = {
    "CREATIVE_COMFY_URLS": ("comfyui", "urls"),
    "CREATIVE_COMFY_TIMEOUT_S": ("comfyui", "timeout_s"),
    "CREATIVE_WORKFLOW": ("comfyui", "workflow"),
    "CREATIVE_BUDGET_CAP_USD": ("budget", "monthly_cap_usd"),
    "CREATIVE_COST_PER_IMAGE_USD": ("budget", "cost_per_image_usd"),
    "CREATIVE_BUDGET_TIMEZONE": ("budget", "timezone"),
    "CREATIVE_RUNS_DIR": ("paths", "runs_dir"),
    "CREATIVE_BRAND_DIR": ("paths", "brand_dir"),
    "CREATIVE_BRANDS_DIR": ("paths", "brands_dir"),
    "CREATIVE_BRAND": ("brand",),
    "CREATIVE_TEMPLATES_DIR": ("paths", "templates_dir"),
    "CREATIVE_RESEARCH_BACKEND": ("research", "backend"),
    "CREATIVE_CHROMIUM_PATH": ("research", "chromium_path"),
    "CREATIVE_FIRECRAWL_API_URL": ("research", "firecrawl_api_url"),
    "CREATIVE_BRIEF_WRITER": ("brief", "writer"),
    "CREATIVE_LLM_BASE_URL": ("brief", "llm", "base_url"),
    "CREATIVE_LLM_MODEL": ("brief", "llm", "model"),
    "CREATIVE_ENCODER": ("encoder",),
    "CREATIVE_FFMPEG": ("ffmpeg",),
}


def load_settings(
    config_file: Path | None = None,
    *,
    env: dict[str, str] | None = None,
    overrides: dict[str, Any] | None = None,
) -> Settings:
    """Merge every layer and validate. `overrides` uses dotted keys, e.g. {"comfyui.urls": [...]}."""
    env = os.environ if env is None else env
    data: dict[str, Any] = {}
    source = "defaults"
    path = config_file or (Path.cwd() / DEFAULT_CONFIG_NAME)
    if config_file is not None and not config_file.is_file():
        raise ConfigError(f"{config_file}: config file not found", hint="check the --config path")
    if path.is_file():
        data = _read_yaml(path)
        source = str(path)
        _resolve_relative_paths(data, path.parent)
    for var, keys in ENV_KEYS.items():
        if env.get(var):
            value: Any = env[var]
            if keys == ("comfyui", "urls"):
                value = [u.strip() for u in value.split(",") if u.strip()]
            _set(data, keys, value)
            source = f"{source} + environment"
    for dotted, value in (overrides or {}).items():
        if value is not None:
            _set(data, tuple(dotted.split(".")), value)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {format_validation_error(exc)}") from None


def format_validation_error(exc: ValidationError) -> str:
    """First pydantic error as 'key.path: message' (plus a count of the others)."""
    errors = exc.errors()
    first = errors[0]
    where = ".".join(str(p) for p in first["loc"]) or "(top level)"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first['msg']}{more}"


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        loaded = safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ConfigError(f"{path}:{where}: {problem}", hint="fix the YAML syntax") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    return loaded


def _resolve_relative_paths(data: dict[str, Any], base: Path) -> None:
    """Paths in a config file are relative to that file, not to the working folder."""
    paths = data.get("paths")
    if isinstance(paths, dict):
        for key, value in paths.items():
            if isinstance(value, str) and not Path(value).is_absolute():
                paths[key] = str(base / value)
    comfy = data.get("comfyui")
    if isinstance(comfy, dict) and isinstance(comfy.get("workflow"), str):
        if not Path(comfy["workflow"]).is_absolute():
            comfy["workflow"] = str(base / comfy["workflow"])


def _set(data: dict[str, Any], keys: tuple[str, ...], value: Any) -> None:
    node = data
    for key in keys[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node[keys[-1]] = value
