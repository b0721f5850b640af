"""PNG charts for the experiment report (matplotlib, no display needed): a metric per variant with its
95% interval beside each ad's thumbnail, and A against B per campaign."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never a window

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.offsetbox import AnnotationBbox, OffsetImage  # noqa: E402
from PIL import Image  # noqa: E402

from creative.core.atomic import write_atomic  # noqa: E402

LABELS = {"ctr": "CTR", "cpc": "CPC", "cpa": "CPA"}
COLOURS = {"A": "#8a8f98", "B": "#2f6b3f"}
ROW_INCHES = 0.9


def _value(unit: dict, metric: str) -> tuple[float | None, float | None, float | None]:
    """The metric and its interval; an unbounded upper end (no conversions yet) is left as None."""
    ci = unit.get(f"{metric}_ci") or [None, None]
    return unit.get(metric), ci[0], ci[1]


def _fmt(metric: str, value: float) -> str:
    return f"{value:.2%}" if metric == "ctr" else f"{value:,.2f}"


def _save(fig, path: Path) -> Path:
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    write_atomic(path, buffer.getvalue())
    return path


def variants_chart(units: list[dict], metric: str, path: Path, thumbs: dict[str, Path]) -> Path:
    """One row per unit: thumbnail, label, the metric as a dot and its interval as a bar (A grey, B green)."""
    rows = [u for u in units if u.get("impressions")]
    fig, ax = plt.subplots(figsize=(9, max(2.0, ROW_INCHES * len(rows) + 0.8)))
    highs = [h for u in rows for h in _value(u, metric)[1:] if h is not None]
    top = max(highs, default=1.0) * 1.15 or 1.0
    for y, unit in enumerate(reversed(rows)):
        value, low, high = _value(unit, metric)
        colour = COLOURS["A"] if unit["label"].startswith("baseline") else COLOURS["B"]
        if low is not None:
            ax.plot([low, high if high is not None else top], [y, y], color=colour, lw=5, alpha=0.35, solid_capstyle="round")
        if value is not None:
            ax.plot([value], [y], "o", color=colour, ms=8)
            ax.annotate(_fmt(metric, value), (value, y), textcoords="offset points", xytext=(0, 9), ha="center", fontsize=8)
        thumb = thumbs.get(unit["label"])
        if thumb is not None and thumb.is_file():
            with Image.open(thumb) as image:
                # a little under a row high, so neighbouring thumbnails keep a gap
                box = OffsetImage(image.copy(), zoom=ROW_INCHES * 72 * 0.6 / max(image.size))
            ax.add_artist(AnnotationBbox(box, (0, y), xybox=(-32, 0), xycoords=("axes fraction", "data"),
                                         boxcoords="offset points", frameon=False, annotation_clip=False))
    ax.set_yticks(range(len(rows)), [u["label"] for u in reversed(rows)], fontsize=8)
    ax.tick_params(axis="y", pad=62)
    ax.set_xlim(0, top)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.set_xlabel(f"{LABELS[metric]} with 95% interval" + (" (lower is better)" if metric != "ctr" else ""))
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(f"{LABELS[metric]} per variant", loc="left")
    return _save(fig, path)


def campaigns_chart(campaigns: list[dict], metric: str, path: Path) -> Path:
    """A against B on the metric for every campaign, with intervals."""
    fig, ax = plt.subplots(figsize=(9, max(2.5, 0.9 * len(campaigns) + 1)))
    highs = [h for c in campaigns for arm in "AB" for h in _value(c[arm], metric)[1:] if h is not None]
    top = max(highs, default=1.0) * 1.15 or 1.0
    for y, campaign in enumerate(reversed(campaigns)):
        for offset, arm in ((0.15, "A"), (-0.15, "B")):
            value, low, high = _value(campaign[arm], metric)
            if low is not None:
                ax.plot([low, high if high is not None else top], [y + offset] * 2, color=COLOURS[arm], lw=5, alpha=0.35)
            if value is not None:
                ax.plot([value], [y + offset], "o", color=COLOURS[arm], ms=8, label=arm if y == 0 else None)
                ax.annotate(_fmt(metric, value), (value, y + offset), textcoords="offset points", xytext=(10, -3), fontsize=8)
    ax.set_yticks(range(len(campaigns)), [c["campaign"] for c in reversed(campaigns)])
    ax.set_xlim(0, top)
    ax.set_xlabel(f"{LABELS[metric]} with 95% interval" + (" (lower is better)" if metric != "ctr" else ""))
    ax.grid(axis="x", alpha=0.3)
    handles = [plt.Line2D([], [], marker="o", color=COLOURS[a], ls="", label=t) for a, t in (("A", "A baseline"), ("B", "B creative"))]
    ax.legend(handles=handles, loc="lower right", fontsize=8)
    ax.set_title(f"A vs B per campaign: {LABELS[metric]}", loc="left")
    return _save(fig, path)
