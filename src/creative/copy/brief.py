"""brief.md: draft it from research facts, render it, parse a hand-edited copy, check policy.

The file is YAML front matter (brand, channel, offer, ...) followed by one
`## Concept: <name>` section per creative direction with bullet fields.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Iterable

import yaml
from pydantic import ValidationError

from creative.core.atomic import write_atomic
from creative.core.errors import InputError
from creative.core.models import Brief, Channel, Concept, ResearchNotes
from creative.core.text import slugify
from creative.core.yaml_text import safe_load

log = logging.getLogger(__name__)

SUBHEAD_MAX = 60
MIN_RATING = 4.0  # below this, reviews are not something to put on an ad

HEADER_KEYS = ("brand", "channel", "format", "offer", "cta", "product", "url", "must_have", "avoid")
FIELDS = ("headline", "subhead", "cta", "scene", "mood")
FIELD_LABELS = {"headline": "Headline", "subhead": "Subhead", "cta": "CTA", "scene": "Scene", "mood": "Mood"}
_FIELD_ALIASES = {
    "headline": "headline", "head line": "headline", "title": "headline",
    "subhead": "subhead", "sub head": "subhead", "subheadline": "subhead", "sub headline": "subhead",
    "subheading": "subhead", "sub heading": "subhead", "subtitle": "subhead",
    "cta": "cta", "call to action": "cta", "button": "cta",
    "scene": "scene", "background": "scene", "visual": "scene",
    "mood": "mood", "tone": "mood",
}

FORMAT_COMMENT = """<!--
brief.md format (edit freely, then run: creative run --brief <this file>)
  * The YAML header between the --- lines: brand, channel, format, offer, cta, product, url,
    must_have (list), avoid (list: words the copy must never contain).
  * One section per concept, headed "## Concept: <name>" (name becomes a slug, e.g. offer).
  * Under it, one bullet per field: "- **Headline:** ...", "- **Subhead:** ...", "- **CTA:** ...",
    "- **Scene:** ...", "- **Mood:** ...". Headline, CTA and Scene are required; the CTA falls back
    to the header's cta. Bold, bullets (- or *) and key case are optional.
  * Headline, Subhead and CTA are drawn on the ad exactly as written. The Scene describes the
    background image only and must not ask for text, letters or logos.
  * At least two concepts. Lines inside <!-- --> are ignored.
-->"""


# --- copy helpers -------------------------------------------------------------

_TRAILING_JUNK = {
    "and", "or", "with", "for", "the", "a", "an", "of", "to", "in", "on", "at", "by", "from", "&",
    "your", "our", "that", "which", "while", "without", "plus", "into",
}
_PREPOSITIONS = {"in", "with", "for", "on", "at", "by", "from", "to", "under", "over", "without", "into"}
_BENEFIT = re.compile(
    r"\b(\w+er|glow\w*|radian\w*|smooth\w*|soft\w*|hydrat\w*|plump\w*|even\w*|clear\w*|fresh\w*|"
    r"all[- ]day|lasting|long[- ]lasting|protect\w*|comfort\w*|easy|effortless\w*|instant\w*|"
    r"visibl\w*|boost\w*|restor\w*|renew\w*|repair\w*|strong\w*|fast\w*|quick\w*|quiet\w*|"
    r"warm\w*|rich\w*|bold\w*|crisp\w*|lightweight|breathab\w*|durable|waterproof|sáng\w*|mịn\w*)\b",
    re.I,
)
_NOT_BENEFIT = {"other", "after", "under", "over", "never", "water", "order", "number", "rather",
                "whether", "either", "ever", "per", "her", "paper", "letter", "filter", "together"}


def _is_benefit(text: str) -> bool:
    return any(m.group(0).lower() not in _NOT_BENEFIT for m in _BENEFIT.finditer(text))


def _sentence_case(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] if text else text


def shorten(text: str, limit: int) -> str:
    """Fit `text` in `limit` chars at a word boundary, never mid-word, without a dangling tail.

    When words must go, a cut-off prepositional phrase ("... in 4") and trailing joiners
    ("and", "with", commas) go with them so the result still reads as a phrase.
    """
    text = " ".join(text.split()).strip(" .;:")
    if len(text) <= limit:
        return text
    words = text.split(" ")
    kept: list[str] = []
    for word in words:
        if len(" ".join([*kept, word])) > limit:
            break
        kept.append(word)
    if not kept:
        log.warning("cannot shorten %r to %d chars at a word boundary", text, limit)
        return words[0]
    # Drop an incomplete prepositional phrase at the end when enough remains.
    for i in range(len(kept) - 1, 0, -1):
        if kept[i].lower() in _PREPOSITIONS:
            if i >= 2:
                kept = kept[:i]
            break
    while len(kept) > 1 and (kept[-1].lower().strip(",;:—–-") in _TRAILING_JUNK or kept[-1] in "—–-"):
        kept.pop()
    return " ".join(kept).rstrip(",;:—–- ")


def _fits(text: str, limit: int) -> bool:
    return 0 < len(text) <= limit


def _contains_term(text: str, term: str) -> bool:
    return _term_regex(term).search(text) is not None


def _term_regex(term: str) -> re.Pattern[str]:
    words = [re.escape(w) for w in term.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.I)


def _clean_terms(terms: Iterable[str]) -> list[str]:
    return [t.strip() for t in terms if t and t.strip()]


_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "AUD": "A$", "CAD": "C$", "INR": "₹"}


def format_price(price: str | None, currency: str | None) -> str | None:
    """'34.00','USD' -> '$34'; '590000','VND' -> '590.000₫'; unknown currency -> '12.50 CHF'."""
    if not price:
        return None
    amount = price.strip()
    if re.fullmatch(r"[\d.,\s]*\d[.,]00", amount):
        amount = amount[:-3]
    cur = (currency or "").upper().strip()
    if cur == "VND" and amount.isdigit():
        return f"{int(amount):,}".replace(",", ".") + "₫"
    if cur == "EUR" and "," in amount:  # decimal-comma locales write the symbol after
        return f"{amount} €"
    if cur in _SYMBOLS:
        return f"{_SYMBOLS[cur]}{amount}"
    return f"{amount} {cur}".strip()


def _format_rating(rating: float) -> str:
    return f"{rating:.1f}".rstrip("0").rstrip(".")


def _normalise_offer(offer: str) -> str:
    """'buy 2 get 1' -> 'Buy 2, get 1 free'; anything else is kept, first letter capitalised."""
    text = " ".join(offer.split())
    m = re.fullmatch(r"buy\s+(\d+)\s*[,&+]?\s*(?:and\s+)?get\s+(\d+)(\s+free)?\s*!?", text, re.I)
    if m:
        return f"Buy {m.group(1)}, get {m.group(2)} free"
    return _sentence_case(text)


# --- categories: text-free scenes per product type ------------------------------

# (category, keywords, subject, surface, lifestyle setting, default props)
_CATEGORIES: list[tuple[str, tuple[str, ...], str, str, str, str]] = [
    ("skincare", ("serum", "skin", "moistur", "cream", "cleanser", "toner", "sunscreen", "spf",
                  "retinol", "lotion", "hyaluronic", "balm", "skincare", "face oil"),
     "an unlabeled glass dropper bottle of serum", "a wet travertine stone slab",
     "a sunlit bathroom shelf beside folded linen towels", "glistening water droplets"),
    ("fragrance", ("perfume", "parfum", "eau de", "fragrance", "cologne"),
     "an unlabeled faceted glass perfume bottle", "a mirrored plinth",
     "a dressing table by a window with sheer curtains", "soft silk fabric folds"),
    ("haircare", ("shampoo", "conditioner", "hair"),
     "an unlabeled frosted pump bottle", "a pale ceramic bathroom ledge",
     "a bright shower with green plants", "foam and water splashes"),
    ("coffee", ("coffee", "espresso", "cà phê", "tea", "matcha", "latte"),
     "a ceramic cup of freshly brewed coffee", "a rustic oak table",
     "a cosy cafe window seat in morning light", "scattered roasted beans and rising steam"),
    ("food", ("snack", "chocolate", "granola", "sauce", "honey", "cookie", "bar", "cereal", "juice"),
     "an artful arrangement of fresh ingredients", "a marble kitchen counter",
     "a bright family kitchen with a breakfast spread", "fresh herbs and natural textures"),
    ("footwear", ("shoe", "sneaker", "boot", "sandal", "trainer", "giày"),
     "a pair of plain unbranded sneakers", "a smooth concrete plinth",
     "a city street at golden hour", "dramatic long shadows"),
    ("apparel", ("shirt", "t-shirt", "dress", "jacket", "hoodie", "jeans", "sweater", "linen",
                 "cotton", "áo", "knit", "sock", "merino", "wool"),
     "a neatly folded plain garment", "a raw linen backdrop",
     "a bright minimalist bedroom with a clothes rail", "soft fabric textures"),
    ("jewelry", ("ring", "necklace", "bracelet", "earring", "jewel", "pendant"),
     "delicate gold jewellery", "a velvet display cushion",
     "a sunlit vanity with a small ceramic dish", "sparkling light reflections"),
    ("electronics", ("headphone", "earbud", "speaker", "charger", "laptop", "phone", "camera",
                     "bluetooth", "wireless", "usb", "smartwatch"),
     "a sleek unbranded device with smooth matte surfaces", "a dark brushed-metal desk",
     "a tidy modern workspace with a plant and a notebook", "subtle neon rim light"),
    ("home", ("candle", "mug", "lamp", "pillow", "blanket", "sofa", "vase", "cookware", "pan",
              "diffuser"),
     "a handcrafted home object", "a light oak sideboard",
     "a calm Scandinavian living room", "dried flowers and soft textiles"),
    ("fitness", ("yoga", "dumbbell", "fitness", "workout", "gym", "running", "protein"),
     "a rolled yoga mat and a water bottle", "a sunlit wooden studio floor",
     "an airy training studio at sunrise", "clean lines and dynamic light"),
    ("pet", ("dog", "cat", "pet", "puppy", "kitten"),
     "a cosy pet bed and a ceramic bowl", "a warm wooden floor",
     "a bright living room with a happy dog", "soft blankets"),
]
_GENERIC = ("product", (), "an elegant unbranded product", "a clean sculptural plinth",
            "a bright, styled home interior", "soft natural textures")

# Ingredient or flavour words that suggest props for the scene.
_PROPS = [
    (r"vitamin c|citrus|orange|lemon|yuzu", "fresh orange slices"),
    (r"hyaluronic|hydrat|aqua|water", "glistening water droplets"),
    (r"\brose\b", "scattered rose petals"),
    (r"lavender", "lavender sprigs"),
    (r"aloe", "fresh aloe leaves"),
    (r"green tea|matcha", "green tea leaves"),
    (r"honey", "a honey dipper and golden honey"),
    (r"\bmint\b|peppermint", "fresh mint leaves"),
    (r"coconut", "halved coconuts"),
    (r"vanilla", "vanilla pods"),
    (r"cocoa|chocolate", "cocoa nibs"),
    (r"charcoal", "charcoal stones"),
    (r"coffee|espresso", "roasted coffee beans"),
]

_MOODS = {
    "offer": "bold, upbeat, celebratory",
    "benefit": "fresh, radiant, sensorial",
    "proof": "warm, authentic, reassuring",
    "product": "clean, premium, minimal",
}

_CTAS = {
    "en": {"offer": "Claim offer", "benefit": "Shop now", "proof": "Try it today", "product": "Shop now"},
    "vi": {"offer": "Nhận ưu đãi", "benefit": "Mua ngay", "proof": "Dùng thử ngay", "product": "Mua ngay"},
    "fr": {"offer": "J'en profite", "benefit": "Acheter", "proof": "Essayer", "product": "Acheter"},
    "es": {"offer": "Aprovechar", "benefit": "Comprar", "proof": "Pruébalo", "product": "Comprar"},
    "de": {"offer": "Jetzt sichern", "benefit": "Jetzt kaufen", "proof": "Jetzt testen", "product": "Jetzt kaufen"},
}
_JUST = {"en": "just", "vi": "chỉ", "fr": "seulement", "es": "solo", "de": "nur"}
# (rating, count) -> proof headline options, best first, per language
_PROOF = {
    "en": ["{r} stars from {n} reviews", "Rated {r}/5 by {n} reviewers", "{r}/5 from {n} reviews"],
    "vi": ["{r}/5 sao từ {n} đánh giá"],
    "fr": ["{r}/5 sur {n} avis"],
    "es": ["{r}/5 en {n} reseñas"],
    "de": ["{r}/5 aus {n} Bewertungen"],
}
_PROOF_NO_COUNT = {"en": ["Rated {r} out of 5 stars", "Rated {r}/5"], "vi": ["Đánh giá {r}/5 sao"]}
_THOUSANDS = {"en": ",", "vi": ".", "de": ".", "es": ".", "fr": " "}


def _category(notes: ResearchNotes) -> tuple[str, tuple[str, ...], str, str, str, str]:
    name = (notes.product_name or notes.title or "").lower()
    body = " ".join([notes.description or "", *notes.features]).lower()
    best, best_score = _GENERIC, 0
    for cat in _CATEGORIES:
        score = 0
        for kw in cat[1]:
            pattern = r"\b" + re.escape(kw)
            score += 3 * len(re.findall(pattern, name)) + len(re.findall(pattern, body))
        if score > best_score:
            best, best_score = cat, score
    return best


def _props(notes: ResearchNotes, default: str) -> str:
    text = " ".join([notes.product_name or "", notes.description or "", *notes.features]).lower()
    found: list[str] = []
    for pattern, prop in _PROPS:
        if re.search(pattern, text) and prop not in found:
            found.append(prop)
    if default not in found:
        found.append(default)
    return " and ".join(found[:2])


def scene_for(notes: ResearchNotes, kind: str) -> str:
    """A text-free scene for the product category, varied by concept kind."""
    _, _, subject, surface, lifestyle, default_props = _category(notes)
    props = _props(notes, default_props)
    if kind == "offer":
        return (f"{subject} on a bold colour-block set with {props}, crisp studio light, "
                "graphic shadows, generous empty background")
    if kind == "benefit":
        return (f"close-up of {subject} on {surface} with {props}, soft directional morning light, "
                "shallow depth of field")
    if kind == "proof":
        return f"{subject} on {lifestyle}, {props}, natural warm light, authentic and lived-in"
    return f"hero shot of {subject} on {surface}, {props}, minimal studio set, soft gradient backdrop"


# --- drafting -----------------------------------------------------------------


def _benefit_candidates(notes: ResearchNotes) -> list[str]:
    """Benefit phrases from the facts, best first."""
    out: list[str] = []
    for feature in notes.features:
        m = re.search(r"\bfor\s+(.+)$", feature, re.I)
        if m and _is_benefit(m.group(1)):
            out.append(_sentence_case(m.group(1).rstrip(". ")))
    out += [_sentence_case(f.rstrip(". ")) for f in notes.features if _is_benefit(f)]
    out += [_sentence_case(f.rstrip(". ")) for f in notes.features]
    for text in (notes.description, notes.main_text):
        if text:
            first = re.split(r"(?<=[.!?])\s+", text.strip())[0]
            out.append(_sentence_case(first.rstrip(". ")))
    seen: set[str] = set()
    return [c for c in out if not (c.lower() in seen or seen.add(c.lower()))]


def _pick(candidates: list[str], limit: int, banned: list[str], used: set[str]) -> str | None:
    """First candidate that fits whole; otherwise the first one shortened cleanly."""
    ok = [c for c in candidates if c.lower() not in used and not any(_contains_term(c, t) for t in banned)]
    for c in ok:
        if _fits(c, limit):
            return c
    for c in ok:
        short = shorten(c, limit)
        if len(short.split()) >= 2 and short.lower() not in used:
            return short
    return None


def _product_label(notes: ResearchNotes, brand: str) -> str | None:
    name = notes.product_name or notes.title
    if not name:
        return None
    for prefix in (brand, notes.brand):
        if prefix and name.lower().startswith(prefix.lower() + " ") and len(name) > len(prefix) + 3:
            name = name[len(prefix):].strip(" -–|:")
    return shorten(name, 40)


def draft_brief(
    notes: ResearchNotes,
    *,
    brand: str,
    channel_name: str,
    channel: Channel,
    offer: str | None,
    cta: str | None = None,
    avoid: Iterable[str] = (),
    must_have: Iterable[str] = (),
    banned_words: Iterable[str] = (),
) -> Brief:
    """Draft a brief with 2-3 concepts (offer-, benefit-, proof-led) chosen from the facts.

    Facts containing an `avoid` term or a brand `banned_words` term are not used for copy,
    so a drafted brief passes check_policy unless the offer or CTA itself is refused.
    """
    avoid_list = _clean_terms(avoid)
    refused = avoid_list + _clean_terms(banned_words)
    limit = channel.headline_max_chars
    lang = (notes.language or "en").split("-")[0].lower()
    ctas = _CTAS.get(lang, _CTAS["en"])
    product = _product_label(notes, brand)
    price = format_price(notes.price, notes.currency)
    used: set[str] = set()
    concepts: list[Concept] = []

    def add(kind: str, headline: str | None, subhead: str) -> None:
        if not headline:
            return
        used.add(headline.lower())
        sub = subhead if not any(_contains_term(subhead, t) for t in refused) else ""
        concepts.append(Concept(
            name=kind,
            headline=headline,
            subhead=shorten(sub, SUBHEAD_MAX) if sub else "",
            cta=cta.strip() if cta and cta.strip() else ctas[kind],
            scene=scene_for(notes, kind),
            mood=_MOODS[kind],
        ))

    if offer and offer.strip():
        headline = _pick([_normalise_offer(offer)], limit, [], used)
        sub = f"Stock up on {product}" if product and lang == "en" else (product or "")
        add("offer", headline, sub if _fits(sub, SUBHEAD_MAX) else (product or ""))

    benefits = _benefit_candidates(notes)
    headline = _pick(benefits, limit, refused, used)
    if headline:
        rest = [b for b in benefits if b.lower() != headline.lower() and headline.lower() not in b.lower()]
        sub = _pick(rest, SUBHEAD_MAX, refused, used | {headline.lower()}) or (product or "")
        add("benefit", headline, sub)

    if notes.rating is not None and notes.rating >= MIN_RATING:
        add("proof", _proof_headline(notes, limit, lang), _with_price(product, price, lang))
    elif notes.rating is not None:
        log.info("rating %.1f is below %.1f; no proof-led concept", notes.rating, MIN_RATING)

    if len(concepts) < 2 and product:
        add("product", _pick([product], limit, refused, used), _with_price(None, price, lang) or "")
    if len(concepts) < 2:
        add("product", _pick([brand], limit, refused, used), product or "")
    if len(concepts) < 2:
        raise InputError(
            f"Cannot draft a brief for {notes.url}: the page has too few usable facts "
            f"(found {len(concepts)} concept)",
            hint="pass --offer, or write brief.md by hand and use --brief",
        )
    for term in _clean_terms(must_have):
        if not any(_contains_term(f"{c.headline} {c.subhead} {c.cta}", term) for c in concepts):
            log.warning("must-have %r is not in any drafted concept; add it to brief.md", term)
    return Brief(
        brand=brand,
        channel=channel_name,
        format="video" if channel.video else "static",
        offer=offer.strip() if offer and offer.strip() else None,
        cta=cta.strip() if cta and cta.strip() else None,
        product=product,
        url=notes.url,
        must_have=_clean_terms(must_have),
        avoid=avoid_list,
        concepts=concepts,
    )


def _proof_headline(notes: ResearchNotes, limit: int, lang: str) -> str | None:
    r = _format_rating(notes.rating or 0)
    options = [o.format(r=r) for o in _PROOF_NO_COUNT.get(lang, ["{r}/5"])]
    if notes.review_count:
        n = f"{notes.review_count:,}".replace(",", _THOUSANDS.get(lang, ","))
        options = [o.format(r=r, n=n) for o in _PROOF.get(lang, _PROOF["en"])] + options
    return next((o for o in options if _fits(o, limit)), None)


def _with_price(product: str | None, price: str | None, lang: str) -> str:
    just = _JUST.get(lang, _JUST["en"])
    if product and price:
        joined = f"{product}, {just} {price}"
        if _fits(joined, SUBHEAD_MAX):
            return joined
    if price and not product:
        return f"{_sentence_case(just)} {price}"
    return product or ""


# --- render -------------------------------------------------------------------


def _header(brief: Brief) -> dict:
    data = brief.model_dump(include=set(HEADER_KEYS))
    return {k: data[k] for k in HEADER_KEYS}


def render_brief(brief: Brief) -> str:
    """brief.md text: YAML front matter, a format comment, one section per concept."""
    head = yaml.safe_dump(_header(brief), sort_keys=False, allow_unicode=True, width=1000)
    lines = ["---", head.rstrip("\n"), "---", "", FORMAT_COMMENT, ""]
    lines.append(f"# Creative brief: {brief.product or brief.brand}")
    for c in brief.concepts:
        lines += ["", f"## Concept: {c.name}", ""]
        for field in FIELDS:
            value = " ".join(str(getattr(c, field)).split())
            lines.append(f"- **{FIELD_LABELS[field]}:** {value}".rstrip())
    return "\n".join(lines) + "\n"


# --- parse --------------------------------------------------------------------

_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s*(.*?)\s*#*\s*$")
_CONCEPT_PREFIX = re.compile(r"^concept\b\s*[:\-–—.]?\s*", re.I)
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_FIELD = re.compile(r"^(?P<open>\*\*|__|\*|_)?\s*(?P<key>[A-Za-z][A-Za-z _-]{0,30}?)\s*(?P<rest>(?:\*\*|__|\*|_)?\s*:.*)$")


def _strip_comments(text: str) -> list[str]:
    """Lines with <!-- --> comments blanked out; line numbers are preserved."""
    def blank(m: re.Match[str]) -> str:
        return "\n" * m.group(0).count("\n")
    return re.sub(r"<!--.*?(?:-->|\Z)", blank, text, flags=re.S).split("\n")


def _match_field(line: str) -> tuple[str, str] | None:
    """'**Headline:** Hi' / 'Headline: Hi' / '*cta*: Go' -> ('Headline', 'Hi')."""
    m = _FIELD.match(line.strip())
    if not m:
        return None
    rest = m.group("rest")
    closing = re.match(r"(\*\*|__|\*|_)?\s*:\s*(\*\*|__|\*|_)?", rest)
    assert closing is not None
    if m.group("open") and not (closing.group(1) or closing.group(2)):
        return None
    return m.group("key").strip(), rest[closing.end():].strip()


def _field_name(key: str) -> str | None:
    return _FIELD_ALIASES.get(re.sub(r"[\s_-]+", " ", key.strip().lower()))


def parse_brief(text: str, source: str = "brief.md") -> Brief:
    """Parse brief.md text; errors are InputError '<source>:<line>: <what is wrong>'."""
    lines = _strip_comments(text.replace("\r\n", "\n").replace("\r", "\n"))

    def fail(lineno: int, what: str, hint: str | None = None) -> InputError:
        return InputError(f"{source}:{lineno}: {what}", hint=hint)

    start = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if start is None or lines[start].strip() != "---":
        raise fail((start or 0) + 1, "expected the YAML header to start with a '---' line",
                   hint="begin the file with '---', the header keys, then '---'")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].strip() in ("---", "...")), None)
    if end is None:
        raise fail(start + 1, "the YAML header opened here is never closed with '---'")
    header = _parse_header(lines[start + 1:end], start + 2, fail)

    concepts: list[dict] = []
    current: dict | None = None
    last_field: str | None = None
    for idx in range(end + 1, len(lines)):
        lineno, raw = idx + 1, lines[idx]
        stripped = raw.strip()
        if not stripped:
            last_field = None
            continue
        h = _HEADING.match(raw)
        if h:
            level, title = len(h.group(1)), h.group(2).strip()
            is_concept = bool(_CONCEPT_PREFIX.match(title))
            if level == 1 and not is_concept:
                current, last_field = None, None  # document title
                continue
            name = slugify(_CONCEPT_PREFIX.sub("", title, count=1))
            if not name:
                raise fail(lineno, f"concept heading {stripped!r} has no name",
                           hint="write it as '## Concept: <name>'")
            if any(c["name"] == name for c in concepts):
                raise fail(lineno, f"duplicate concept name {name!r}")
            current = {"name": name, "_line": lineno, "_lines": {}}
            concepts.append(current)
            last_field = None
            continue
        bullet = _BULLET.match(raw)
        body = raw[bullet.end():] if bullet else stripped
        field = _match_field(body)
        key = _field_name(field[0]) if field else None
        if field and key is None and bullet and current is not None:
            raise fail(lineno, f"unknown field {field[0]!r} in concept {current['name']!r}",
                       hint="fields are " + ", ".join(FIELD_LABELS.values()))
        if key is not None:
            if current is None:
                raise fail(lineno, f"field {field[0]!r} is outside any concept",
                           hint="put it under a '## Concept: <name>' heading")
            if key in current:
                raise fail(lineno, f"{FIELD_LABELS[key]} given twice in concept {current['name']!r} "
                           f"(first on line {current['_lines'][key]})")
            current[key] = field[1]
            current["_lines"][key] = lineno
            last_field = key
            continue
        if current is None:
            continue  # free text before the first concept is notes for humans
        if last_field is not None and not bullet:
            # A wrapped line continues the field above it.
            current[last_field] = f"{current[last_field]} {stripped}".strip()
            continue
        raise fail(lineno, f"unexpected text in concept {current['name']!r}: {stripped[:40]!r}",
                   hint="use '- **Headline:** ...', '- **Subhead:** ...', '- **CTA:** ...', "
                        "'- **Scene:** ...', '- **Mood:** ...'")

    built: list[Concept] = []
    for c in concepts:
        if not c.get("cta") and header.get("cta"):
            c["cta"] = header["cta"]
        for required in ("headline", "cta", "scene"):
            if not (c.get(required) or "").strip():
                where = c["_lines"].get(required, c["_line"])
                raise fail(where, f"concept {c['name']!r} has no {FIELD_LABELS[required]}",
                           hint=f"add '- **{FIELD_LABELS[required]}:** ...' under its heading")
        fields = {k: " ".join(c.get(k, "").split()) for k in FIELDS if k in c}
        built.append(Concept(name=c["name"], **fields))
    if len(built) < 2:
        raise fail(len(lines), f"a brief needs at least 2 concepts, found {len(built)}",
                   hint="add another '## Concept: <name>' section")
    try:
        return Brief(**header, concepts=built)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise fail(start + 1, f"header key {'.'.join(map(str, err['loc']))}: {err['msg']}") from None


def _parse_header(lines: list[str], first_lineno: int, fail) -> dict:
    try:
        data = safe_load("\n".join(lines))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        lineno = first_lineno + (mark.line if mark else 0)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise fail(lineno, f"invalid YAML in the header: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise fail(first_lineno, "the header must be 'key: value' lines")

    def line_of(key: str) -> int:
        for i, ln in enumerate(lines):
            if re.match(rf"^\s*{re.escape(str(key))}\s*:", ln):
                return first_lineno + i
        return first_lineno

    out: dict = {}
    for key, value in data.items():
        k = str(key).strip().lower().replace("-", "_").replace(" ", "_")
        if k not in HEADER_KEYS:
            raise fail(line_of(key), f"unknown header key {key!r}",
                       hint="header keys are " + ", ".join(HEADER_KEYS))
        if k in ("must_have", "avoid"):
            if value is None:
                value = []
            elif isinstance(value, str):
                value = [v.strip() for v in value.split(",")]
            elif not isinstance(value, list) or any(isinstance(v, (dict, list)) for v in value):
                raise fail(line_of(key), f"{key} must be a list of words or phrases")
            value = [str(v).strip() for v in value if v is not None and str(v).strip()]
        elif value is not None:
            if isinstance(value, (dict, list)):
                raise fail(line_of(key), f"{key} must be a single value, not a "
                                         f"{'list' if isinstance(value, list) else 'mapping'}")
            value = str(value).strip() or None
        out[k] = value
    for required in ("brand", "channel"):
        if not out.get(required):
            raise fail(first_lineno - 1, f"the header has no {required!r}",
                       hint=f"add '{required}: ...' between the --- lines")
    if out.get("format") is None:
        out.pop("format", None)
    return out


def read_brief(path: Path) -> Brief:
    """Read and parse a brief.md file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"Brief not found: {path}", hint="check the --brief path") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})",
                         hint="save the file as UTF-8") from None
    return parse_brief(text, source=str(path))


def write_brief(brief: Brief, path: Path) -> None:
    """Write brief.md atomically."""
    write_atomic(Path(path), render_brief(brief))


# --- policy -------------------------------------------------------------------


def check_policy(brief: Brief, banned_words: Iterable[str]) -> None:
    """Refuse copy containing a term from brief.avoid or the brand's banned words."""
    terms = [(t, "the brief's avoid list") for t in _clean_terms(brief.avoid)]
    terms += [(t, "the brand's banned words") for t in _clean_terms(banned_words)]
    hits = []
    for concept in brief.concepts:
        for field in ("headline", "subhead", "cta"):
            value = getattr(concept, field)
            for term, origin in terms:
                if _contains_term(value, term):
                    hits.append((concept.name, field, term, origin, value))
    if hits:
        name, field, term, origin, value = hits[0]
        more = f" (and {len(hits) - 1} more)" if len(hits) > 1 else ""
        raise InputError(
            f"Copy refused: concept {name!r} {FIELD_LABELS[field]} {value!r} contains {term!r} "
            f"from {origin}{more}",
            hint="edit brief.md to reword it, or remove the term from the list, then run again",
        )
