"""Draw brand/logo.png and its variants once: a disc with a crescent-and-sun 'L' mark (supersampled).

logo.png: coral disc, cream mark. logo_light.png (for dark pictures): cream disc, coral mark.
logo_dark.png (for light pictures): ink disc, cream mark.
"""
# Run from the repo root: python brand/make_logo.py (only needed to redraw the mark).
from PIL import Image, ImageDraw

S = 4
W = 600
CORAL, CREAM, INK = (226, 114, 91, 255), (247, 241, 232, 255), (30, 42, 58, 255)


def draw(disc, mark, path):
    im = Image.new("RGBA", (W * S, W * S), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    c = W * S / 2
    r = 288 * S
    d.ellipse((c - r, c - r, c + r, c + r), fill=disc)
    # monogram L: a thick L with a small sun dot, geometric
    t = 62 * S
    x0, y0 = 200 * S, 150 * S
    d.rounded_rectangle((x0, y0, x0 + t, 440 * S), radius=t // 2, fill=mark)
    d.rounded_rectangle((x0, 440 * S - t, 420 * S, 440 * S), radius=t // 2, fill=mark)
    sr = 46 * S
    d.ellipse((375 * S - sr, 215 * S - sr, 375 * S + sr, 215 * S + sr), fill=mark)
    im.resize((W, W), Image.LANCZOS).save(path, optimize=True)


draw(CORAL, CREAM, "brand/logo.png")
draw(CREAM, CORAL, "brand/logo_light.png")
draw(INK, CREAM, "brand/logo_dark.png")
