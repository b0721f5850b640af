"""Currency of a price: ISO codes as given, symbols read with the page's country in mind (Babel)."""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urlparse

# Symbols that name one currency wherever they appear.
_SYMBOLS = {
    "€": "EUR", "eur": "EUR", "£": "GBP", "zł": "PLN", "zl": "PLN", "₽": "RUB", "руб": "RUB",
    "р.": "RUB", "₫": "VND", "đ": "VND", "₩": "KRW", "원": "KRW", "₪": "ILS", "₹": "INR",
    "r$": "BRL", "chf": "CHF", "kč": "CZK", "ft": "HUF", "lei": "RON", "₺": "TRY", "tl": "TRY",
    "฿": "THB", "₴": "UAH", "грн": "UAH", "₸": "KZT", "тг": "KZT", "kn": "HRK", "円": "JPY",
    "元": "CNY", "nt$": "TWD", "hk$": "HKD", "s$": "SGD", "a$": "AUD", "c$": "CAD", "ca$": "CAD",
    "au$": "AUD", "nz$": "NZD", "us$": "USD", "mx$": "MXN", "rs": "INR", "rs.": "INR",
    "ر.س": "SAR", "د.إ": "AED", "₱": "PHP", "rp": "IDR", "rm": "MYR",
}
_ISO = re.compile(r"^[A-Z]{3}$")


def iso_code(value: str | None) -> str | None:
    """'pln' / 'PLN' -> 'PLN'; anything that is not a known ISO 4217 code -> None."""
    if not value:
        return None
    code = value.strip().upper()
    if code == "RUR":  # the pre-1998 rouble code some Russian shops still send
        return "RUB"
    return code if _ISO.match(code) and code in _known_codes() else None


@lru_cache(maxsize=1)
def _known_codes() -> frozenset[str]:
    # From Babel's global data, which pricing loads anyway; an English locale's currency names
    # would load a whole locale's data for a page in another language.
    from babel.numbers import list_currencies

    return frozenset(list_currencies())


def from_symbol(symbol: str | None, territory: str | None) -> str | None:
    """ISO code for a price's symbol, using the shop's country for shared symbols ('$' in Chile)."""
    if not symbol:
        return None
    sym = "".join(symbol.split())  # "US $" -> "US$"
    code = iso_code(sym)
    if code:
        return code
    key = sym.lower()
    if key in _SYMBOLS:
        return _SYMBOLS[key]
    if key in _SHARED:
        local = territory_currency(territory)
        return local if local in _SHARED_BY[key] else _SHARED[key]
    return None


# Symbols several currencies share: the page's country decides, else the first reading.
_SHARED = {"$": "USD", "kr": "SEK", "kr.": "DKK", "¥": "JPY", "￥": "JPY"}
_DOLLARS = {"USD", "CAD", "AUD", "NZD", "CLP", "ARS", "MXN", "COP", "TWD", "HKD", "SGD", "UYU",
            "CUP", "DOP", "FJD", "JMD", "LRD", "NAD", "SBD", "SRD", "TTD", "XCD", "BSD", "BZD"}
_CROWNS = {"SEK", "NOK", "DKK", "ISK"}
_SHARED_BY = {"$": _DOLLARS, "kr": _CROWNS, "kr.": _CROWNS, "¥": {"JPY", "CNY"}, "￥": {"JPY", "CNY"}}


def territory_currency(territory: str | None) -> str | None:
    """The currency in use in a country ('CL' -> 'CLP'), from Babel's CLDR data."""
    if not territory:
        return None
    from babel.numbers import get_territory_currencies

    try:
        found = get_territory_currencies(territory.upper(), tender=True, non_tender=False)
    except Exception:  # noqa: BLE001 - unknown territory
        return None
    return found[0] if found else None


# Generic and shared top-level domains say nothing about the shop's country.
_GENERIC_TLDS = {"com", "net", "org", "info", "biz", "shop", "store", "io", "co", "eu", "app"}


def url_territory(url: str | None) -> str | None:
    """'https://www.paris.cl/x' -> 'CL'; 'shop.co.uk' -> 'GB'; generic domains -> None."""
    host = (urlparse(url or "").hostname or "").lower()
    tld = host.rsplit(".", 1)[-1] if "." in host else ""
    if not tld or tld in _GENERIC_TLDS or not tld.isalpha() or len(tld) != 2:
        return None
    return "GB" if tld == "uk" else tld.upper()
