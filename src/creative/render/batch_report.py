"""The batch gallery: every product's ads on one page, with the products left out and why."""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from pathlib import Path

from creative.core.atomic import write_atomic


@dataclass
class AdRow:
    """One finished ad of a batch, as the bulk-upload CSV lists it."""

    file: str
    product_id: str
    title: str
    headline: str
    cta: str
    link: str
    channel: str


STYLE = """body{font-family:system-ui,sans-serif;margin:24px;color:#222}
section{margin-bottom:28px}h2{font-size:18px;margin:0 0 8px}
.ads{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0;width:220px}
img{width:220px;height:auto;border:1px solid #ddd}figcaption{font-size:12px;color:#555}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:4px 8px;font-size:13px;text-align:left}"""


def write_batch_gallery(path: Path, rows: list[AdRow], left_out: list[dict], *, title: str) -> None:
    """Write `path`: one section per product (its ads as thumbnails, linked), then a table of left-out items."""
    esc = html.escape
    parts = [f"<!doctype html><meta charset=utf-8><title>{esc(title)}</title><style>{STYLE}</style>",
             f"<h1>{esc(title)}</h1>",
             f"<p>{len(rows)} ads for {len({r.product_id for r in rows})} products</p>"]
    by_product: dict[str, list[AdRow]] = {}
    for row in rows:
        by_product.setdefault(row.product_id, []).append(row)
    for product_id, ads in by_product.items():
        first = ads[0]
        parts.append(f"<section><h2>{esc(first.title)} <small>({esc(product_id)})</small></h2>"
                     f"<p><a href=\"{esc(first.link)}\">{esc(first.link)}</a></p><div class=ads>")
        for ad in ads:
            src = esc(Path(os.path.relpath(ad.file, path.parent)).as_posix())
            parts.append(f"<figure><a href=\"{src}\"><img src=\"{src}\" alt=\"{esc(ad.headline)}\"></a>"
                         f"<figcaption>{esc(ad.headline)} · {esc(ad.cta)}</figcaption></figure>")
        parts.append("</div></section>")
    if left_out:
        parts.append("<h2>Left out</h2><table><tr><th>product</th><th>where</th><th>why</th></tr>")
        parts += [f"<tr><td>{esc(str(s.get('id')))}</td><td>{esc(str(s.get('where')))}</td>"
                  f"<td>{esc(str(s.get('reason')))}</td></tr>" for s in left_out]
        parts.append("</table>")
    write_atomic(path, "\n".join(parts) + "\n")
