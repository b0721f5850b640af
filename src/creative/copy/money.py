"""Prices, counts and ratings written the way the page's locale writes them (Babel/CLDR)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.core import get_global, localedata
from babel.numbers import format_currency, format_decimal, get_currency_precision

RATING_SCALE = 5  # ratings are shown out of 5


def parse_locale(locale: str | None, fallback: str = "en_US") -> Locale:
    """A Babel Locale from 'pl_PL' / 'pl-PL' / 'pl'; the fallback when unknown."""
    for candidate in (locale, fallback, "en_US"):
        if not candidate:
            continue
        try:
            return Locale.parse(candidate.replace("-", "_"))
        except (UnknownLocaleError, ValueError):
            continue
    return Locale.parse("en_US")


def page_locale(locale: str | None, language: str, currency: str | None, default: str) -> str:
    """The locale prices are written in: the page's own, else the language where the currency is
    legal tender ('es' + CLP -> es_CL: '$249.990'), else the language's default."""
    if locale:
        return locale
    cur = (currency or "").strip().upper()
    territories = _territories_of(cur) if cur else ()
    if default.split("_")[-1] in territories:
        return default
    for territory in territories:
        if localedata.exists(f"{language}_{territory}"):
            return f"{language}_{territory}"
    return default


@lru_cache(maxsize=64)
def _territories_of(currency: str) -> tuple[str, ...]:
    """Territories where `currency` is in use today (CLDR)."""
    found = []
    for territory, periods in get_global("territory_currencies").items():
        if any(code == currency and end is None and tender for code, _, end, tender in periods):
            found.append(territory)
    return tuple(found)


def amount(price: str | None) -> Decimal | None:
    """'997.00' -> Decimal('997.00'); None for absent, unreadable, zero or negative prices."""
    if price is None:
        return None
    try:
        value = Decimal(str(price).strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() and value > 0 else None


def _spaces(text: str) -> str:
    # brief.md is plain text edited by hand and the ad renderer collapses whitespace: plain spaces
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def format_price(price: str | None, currency: str | None, locale: str | None = None) -> str | None:
    """'997.00','PLN','pl_PL' -> '997 zł'; '71.91','EUR','pt_PT' -> '71,91 €'; None when no price.

    Whole amounts drop their zero decimals ('$1,299', '185.000 ₫'), as shops write them on ads,
    except where that would read as a decimal: a '.' thousands group right after the currency
    sign ('€ 1.299' looks like 1.3 euros to many readers). Then the decimals stay ('€ 1.299,00'),
    or, for a currency without them, the code follows the number ('249.990 CLP', not '$249.990').
    """
    value = amount(price)
    cur = (currency or "").strip().upper()
    if value is None or len(cur) != 3 or not cur.isalpha():
        return None
    loc = parse_locale(locale)
    symbol_first = loc.currency_formats["standard"].pattern.lstrip().startswith("¤")
    if symbol_first and loc.number_symbols["latn"]["group"] == "." and value >= 1000:
        if get_currency_precision(cur) == 0:
            return _spaces(f"{format_decimal(value, format='#,##0', locale=loc)} {cur}")
        return _spaces(format_currency(value, cur, locale=loc))
    if value == value.to_integral_value():
        pattern = loc.currency_formats["standard"].pattern.split(";")[0]
        pattern = pattern.replace("#,##0.00", "#,##0").replace("0.00", "0")
        return _spaces(format_currency(value, cur, format=pattern, locale=loc, currency_digits=False))
    return _spaces(format_currency(value, cur, locale=loc))


def format_count(count: int, locale: str | None) -> str:
    """1284 -> '1,284' / '1.284' / '1 284' as the locale groups thousands."""
    return _spaces(format_decimal(count, locale=parse_locale(locale)))


def rating_out_of_five(rating: float | None, scale: float | None) -> float | None:
    """The rating on a 5-point scale; None when the page does not say what it is out of."""
    if rating is None or not scale or scale <= 0 or rating < 0 or rating > scale:
        return None
    return rating * RATING_SCALE / scale


def format_rating(value: float, locale: str | None) -> str:
    """4.65 -> '4.7' / '4,7'; 5.0 -> '5' (half up, as people round: 4.35 -> 4.4)."""
    tenth = Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return format_decimal(tenth, format="0.#", locale=parse_locale(locale))
