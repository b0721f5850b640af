"""Price and currency reading: amounts as shops write them, symbols read with the shop's country."""

from __future__ import annotations

from decimal import Decimal

import pytest

from creative.research.currency import from_symbol, iso_code, url_territory
from creative.research.prices import Candidate, Visible, choose_price, decimal_of, price_string


@pytest.mark.parametrize(("raw", "expected"), [
    ("67.8400", "67.84"), ("71.910401", "71.91"), ("997.00", "997.00"), ("1.148,00 zł", "1148.00"),
    ("1 148 zł", "1148"), ("185.000 ₫", "185000"), ("$1,299", "1299"), (1148, "1148"), (3.34, "3.34"),
    ("71,91 € 79,90 €", "71.91"),
])
def test_amounts_as_shops_write_them(raw, expected):
    assert price_string(decimal_of(raw)) == expected


@pytest.mark.parametrize(("symbol", "territory", "code"), [
    ("$", "CA", "CAD"), ("$", "CL", "CLP"), ("$", None, "USD"), ("$", "DE", "USD"), ("kr", "NO", "NOK"),
    ("zł", None, "PLN"), ("US $", None, "USD"), ("C $", None, "CAD"), ("€", None, "EUR"), ("pln", None, "PLN"),
    ("₫", None, "VND"), ("¥", "CN", "CNY"), ("¥", None, "JPY"), ("???", None, None),
])
def test_currency_symbols(symbol, territory, code):
    assert from_symbol(symbol, territory) == code


def test_iso_codes_and_domains():
    assert iso_code("rur") == "RUB" and iso_code("XYZ") is None and iso_code("usd") == "USD"
    assert url_territory("https://www.argos.co.uk/p") == "GB"
    assert url_territory("https://shop.example.com/p") is None
    assert url_territory("file:///tmp/page.html") is None


def _v(amount: str, *, regular: bool = False, other: bool = False, symbol: str | None = "€") -> Visible:
    return Visible(Decimal(amount), symbol, regular, True, other)


def test_confirmed_offer_beats_an_unconfirmed_one_and_the_lowest_confirmed_is_the_sale():
    offers = [Candidate(Decimal("249990"), "CLP", "json-ld"), Candidate(Decimal("229990"), "CLP", "json-ld")]
    choice = choose_price(offers, [_v("249990"), _v("229990"), _v("279990", regular=True)])
    assert (choice.price, choice.regular_price, choice.currency) == ("229990", "279990", "CLP")


def test_other_products_prices_confirm_nothing():
    offers = [Candidate(Decimal("10"), "EUR", "json-ld"), Candidate(Decimal("12"), "EUR", "og:price:amount")]
    choice = choose_price(offers, [_v("12", other=True)])
    assert choice.price == "10" and choice.source == "json-ld"


def test_no_candidates_and_no_currency_symbol_is_no_price():
    choice = choose_price([], [_v("29", symbol=None)])
    assert choice.price is None


@pytest.mark.parametrize("raw", ["-5", "1e400", "NaN", "", "n/a", float("inf")])
def test_values_that_are_not_prices(raw):
    assert decimal_of(raw) is None


def test_free_reads_as_zero_which_is_never_printed():
    assert decimal_of("free") == 0
    assert choose_price([], [_v("0")]).price is None
