"""Draw brand/logo.png once: a coral disc with a cream crescent-and-sun 'L' mark (supersampled)."""
# Run from the repo root: python brand/make_logo.py (only needed to redraw the mark).
from PIL import Image, ImageDraw
S = 4; W = 600
im = Image.new("RGBA", (W * S, W * S), (0, 0, 0, 0))
d = ImageDraw.Draw(im)
c = W * S / 2
r = 288 * S
d.ellipse((c - r, c - r, c + r, c + r), fill=(226, 114, 91, 255))
# monogram L: a thick cream L with a small sun dot, geometric
cream = (247, 241, 232, 255)
t = 62 * S
x0, y0 = 200 * S, 150 * S
d.rounded_rectangle((x0, y0, x0 + t, 440 * S), radius=t // 2, fill=cream)
d.rounded_rectangle((x0, 440 * S - t, 420 * S, 440 * S), radius=t // 2, fill=cream)
sr = 46 * S
d.ellipse((375 * S - sr, 215 * S - sr, 375 * S + sr, 215 * S + sr), fill=cream)
im = im.resize((W, W), Image.LANCZOS)
im.save("brand/logo.png", optimize=True)
