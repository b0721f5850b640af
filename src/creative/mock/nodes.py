"""Node implementations, execution order and cache keys for the mock ComfyUI.

Values flowing between nodes: MODEL/CLIP/VAE are small dicts naming the checkpoint,
CONDITIONING is {"text": ...}, LATENT is a dict describing what to draw (size, batch, seed,
prompt text), IMAGE is a list of PIL RGB images, MASK a list of PIL "L" images.
"""

from __future__ import annotations

import json
import os
import random
import re
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from PIL import Image, ImageFilter, ImageOps
from PIL.PngImagePlugin import PngInfo

from .render import render_background

SAMPLER_CLASSES = {"KSampler", "KSamplerAdvanced"}


@dataclass
class NodeContext:
    """What a node may touch while it runs."""

    output_dir: Path
    input_dir: Path
    temp_dir: Path
    prompt: dict
    extra_data: dict


class NodeFailure(Exception):
    """A node failed while running; becomes an `execution_error` with this type and message."""

    def __init__(self, message: str, exception_type: str = "Exception"):
        super().__init__(message)
        self.exception_type = exception_type


# ---------------------------------------------------------------- execution order


def execution_order(prompt: dict, outputs: list, defs: dict) -> list:
    """Order nodes the way ComfyUI's ExecutionList does (output-first UX heuristic)."""
    pending: dict = {}  # insertion order matters: ComfyUI breaks ties by it
    blocking: dict = {}
    block_count: dict = {}

    def add(node_id: Any) -> None:
        if node_id in pending:
            return
        pending[node_id] = True
        blocking.setdefault(node_id, {})
        block_count.setdefault(node_id, 0)
        for value in prompt[node_id]["inputs"].values():
            if isinstance(value, list) and len(value) == 2:
                src = value[0]
                add(src)
                if node_id not in blocking[src]:
                    blocking[src][node_id] = True
                    block_count[node_id] += 1

    for out in outputs:
        add(out)

    def is_output(node_id: Any) -> bool:
        return defs[prompt[node_id]["class_type"]].get("output_node") is True

    order = []
    while pending:
        available = [n for n in pending if block_count[n] == 0]
        pick = next((n for n in available if is_output(n)), None)
        if pick is None:
            pick = next((n for n in available if any(is_output(b) for b in blocking[n])), None)
        if pick is None:
            pick = next((n for n in available if any(is_output(b2) for b in blocking[n] for b2 in blocking[b])), None)
        if pick is None:
            pick = available[0]
        order.append(pick)
        del pending[pick]
        for blocked in blocking[pick]:
            block_count[blocked] -= 1
    return order


def node_signatures(prompt: dict) -> dict:
    """Cache key per node: its class and inputs, with links replaced by the source's key."""
    memo: dict = {}

    def sig(node_id: Any) -> str:
        if node_id not in memo:
            node = prompt[node_id]
            items = []
            for name in sorted(node["inputs"]):
                value = node["inputs"][name]
                if isinstance(value, list) and len(value) == 2:
                    items.append([name, "link", sig(value[0]), value[1]])
                else:
                    items.append([name, value])
            memo[node_id] = json.dumps([node["class_type"], items], sort_keys=True, default=str)
        return memo[node_id]

    return {node_id: sig(node_id) for node_id in prompt}


# ---------------------------------------------------------------- file naming


def save_image_path(filename_prefix: str, output_dir: Path, width: int, height: int) -> tuple[Path, str, int, str]:
    """ComfyUI's get_save_image_path: folder, base name, next counter, subfolder."""
    prefix = filename_prefix.replace("%width%", str(width)).replace("%height%", str(height))
    norm = os.path.normpath(prefix)
    subfolder = os.path.dirname(norm)
    filename = os.path.basename(norm)
    out_root = os.path.abspath(output_dir)
    full = os.path.abspath(os.path.join(out_root, subfolder))
    common = os.path.commonpath((out_root, full))
    if common != out_root:
        raise NodeFailure(
            "**** ERROR: Saving image outside the output folder is not allowed."
            f"\n full_output_folder: {full}"
            f"\n         output_dir: {out_root}"
            f"\n         commonpath: {common}\n"
        )
    pattern = re.compile(re.escape(filename) + r"_(\d+)_")
    counter = 1
    if os.path.isdir(full):
        used = [int(m.group(1)) for n in os.listdir(full) if (m := pattern.match(n))]
        counter = max(used, default=0) + 1
    else:
        os.makedirs(full, exist_ok=True)
    return Path(full), filename, counter, subfolder


def _save_images(images: list, prefix: str, folder_root: Path, kind: str, ctx: NodeContext,
                 compress_level: int) -> dict:
    first = images[0] if images else Image.new("RGB", (1, 1))
    folder, filename, counter, subfolder = save_image_path(prefix, folder_root, *first.size)
    results = []
    for batch_number, image in enumerate(images):
        info = PngInfo()
        info.add_text("prompt", json.dumps(ctx.prompt))
        for key, value in (ctx.extra_data.get("extra_pnginfo") or {}).items():
            info.add_text(key, json.dumps(value))
        name = f"{filename.replace('%batch_num%', str(batch_number))}_{counter:05}_.png"
        tmp = folder / (name + ".part")
        image.save(tmp, format="PNG", pnginfo=info, compress_level=compress_level)
        os.replace(tmp, folder / name)  # never expose a half-written file to /view
        results.append({"filename": name, "subfolder": subfolder, "type": kind})
        counter += 1
    return {"images": results}


# ---------------------------------------------------------------- nodes

NodeFn = Callable[[NodeContext, dict], tuple[tuple, dict | None]]


def _checkpoint(ctx: NodeContext, i: dict):
    name = i["ckpt_name"]
    return ({"model": name}, {"clip": name}, {"vae": name}), None


def _clip_text(ctx: NodeContext, i: dict):
    return ({"text": str(i["text"])},), None


def _clip_text_sdxl(ctx: NodeContext, i: dict):
    g, l_ = str(i["text_g"]), str(i["text_l"])
    return ({"text": g if g == l_ or not l_ else f"{g}, {l_}"},), None


def _empty_latent(ctx: NodeContext, i: dict):
    return ({"width": i["width"], "height": i["height"], "batch_size": i["batch_size"]},), None


def _sampler(ctx: NodeContext, i: dict):
    latent = dict(i["latent_image"])
    # A refiner pass keeps what the base pass decided to draw.
    if "seed" not in latent:
        latent["seed"] = int(i.get("seed", i.get("noise_seed", 0)))
        latent["text"] = i["positive"].get("text", "")
    return (latent,), None


def _vae_decode(ctx: NodeContext, i: dict):
    lat = i["samples"]
    seed, text = lat.get("seed", 0), lat.get("text", "")
    images = [render_background(seed + b, text, lat["width"], lat["height"]) for b in range(lat.get("batch_size", 1))]
    return (images,), None


def _empty_image(ctx: NodeContext, i: dict):
    c = i["color"]
    rgb = ((c >> 16) & 0xFF, (c >> 8) & 0xFF, c & 0xFF)
    return ([Image.new("RGB", (i["width"], i["height"]), rgb) for _ in range(i["batch_size"])],), None


def _add_noise(ctx: NodeContext, i: dict):
    rng = random.Random(i["seed"])
    out = []
    for img in i["image"]:
        noise = Image.frombytes("RGB", img.size, rng.randbytes(img.size[0] * img.size[1] * 3))
        out.append(Image.blend(img, noise, min(max(float(i["strength"]), 0.0), 1.0)))
    return (out,), None


def _invert(ctx: NodeContext, i: dict):
    return ([ImageOps.invert(img) for img in i["image"]],), None


_RESAMPLE = {"nearest-exact": Image.NEAREST, "bilinear": Image.BILINEAR, "area": Image.BOX,
             "bicubic": Image.BICUBIC, "lanczos": Image.LANCZOS}


def _scale(ctx: NodeContext, i: dict):
    out = []
    for img in i["image"]:
        w = i["width"] or round(img.width * i["height"] / img.height)
        h = i["height"] or round(img.height * i["width"] / img.width)
        if w == 0 and h == 0:
            out.append(img)
            continue
        if i["crop"] == "center":
            out.append(ImageOps.fit(img, (w, h), _RESAMPLE[i["upscale_method"]]))
        else:
            out.append(img.resize((w, h), _RESAMPLE[i["upscale_method"]]))
    return (out,), None


def _blur(ctx: NodeContext, i: dict):
    return ([img.filter(ImageFilter.GaussianBlur(float(i["sigma"]))) for img in i["image"]],), None


def _load_image(ctx: NodeContext, i: dict):
    path = ctx.input_dir / str(i["image"])
    if not path.is_file():
        raise NodeFailure(f"[Errno 2] No such file or directory: '{path}'", "FileNotFoundError")
    img = Image.open(path)
    img.load()
    alpha = img.getchannel("A") if "A" in img.getbands() else Image.new("L", img.size, 255)
    return ([img.convert("RGB")], [ImageOps.invert(alpha)]), None


def _solid_mask(ctx: NodeContext, i: dict):
    return ([Image.new("L", (i["width"], i["height"]), round(float(i["value"]) * 255))],), None


def _save_image(ctx: NodeContext, i: dict):
    return (), _save_images(i["images"], i["filename_prefix"], ctx.output_dir, "output", ctx, compress_level=4)


def _preview_image(ctx: NodeContext, i: dict):
    suffix = "".join(random.choice(string.ascii_lowercase) for _ in range(5))
    return (), _save_images(i["images"], f"ComfyUI_temp_{suffix}", ctx.temp_dir, "temp", ctx, compress_level=1)


NODES: dict[str, NodeFn] = {
    "CheckpointLoaderSimple": _checkpoint,
    "CLIPTextEncode": _clip_text,
    "CLIPTextEncodeSDXL": _clip_text_sdxl,
    "EmptyLatentImage": _empty_latent,
    "KSampler": _sampler,
    "KSamplerAdvanced": _sampler,
    "VAEDecode": _vae_decode,
    "SaveImage": _save_image,
    "PreviewImage": _preview_image,
    "LoadImage": _load_image,
    "EmptyImage": _empty_image,
    "ImageAddNoise": _add_noise,
    "ImageInvert": _invert,
    "ImageScale": _scale,
    "ImageBlur": _blur,
    "SolidMask": _solid_mask,
}


def run_node(ctx: NodeContext, class_type: str, inputs: dict) -> tuple[tuple, dict | None]:
    """Run one node on resolved inputs; returns (outputs, ui)."""
    return NODES[class_type](ctx, inputs)
