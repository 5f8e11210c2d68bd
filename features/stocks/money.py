"""Exact money: Decimal from the quote to the row (NUMERIC(18,4)), user input parsed strictly, amounts shown."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from supervisor.sdk import UserError

CENT4 = Decimal("0.0001")  # shares and money are kept to 4 decimal places, as NUMERIC(18,4)
STARTING_CASH = Decimal("1000.0000")
MAX_SHARES = Decimal(10) ** 9  # per trade; with prices capped far below, every total fits NUMERIC(18,4)
MAX_DOLLARS = Decimal(10) ** 12

# Plain decimal numbers only: no exponents ("1e9"), no NaN or Infinity, no thousands separators in share counts,
# ASCII digits only (Decimal reads full-width "１０" or Arabic-Indic digits as numbers; a member may not mean one).
_NUMBER = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$")
# Finnhub tickers: AAPL, BRK.B, RDS-A, BINANCE:BTCUSDT.
_SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9.\-:]{0,19}$")

INVALID_QUANTITY = "Invalid quantity. Use a number or `$amount`."


def four(value: Decimal) -> Decimal:
    """Rounded to 4 places, half up (what NUMERIC(18,4) stores)."""
    return value.quantize(CENT4, rounding=ROUND_HALF_UP)


def parse_symbol(text: str) -> str:
    symbol = text.strip().upper()
    if not _SYMBOL.match(symbol):
        raise UserError("That is not a stock symbol: use a ticker of letters and digits such as AAPL, MSFT or BRK.B.")
    return symbol


@dataclass(frozen=True)
class BuyAmount:
    shares: Decimal | None = None  # a share count...
    dollars: Decimal | None = None  # ...or a sum to spend

    def shares_at(self, price: Decimal) -> Decimal:
        """Shares to buy at `price`: a dollar amount buys as many whole 0.0001 shares as it covers."""
        if self.shares is not None:
            return self.shares
        assert self.dollars is not None
        return (self.dollars / price).quantize(CENT4, rounding=ROUND_DOWN)


def _number(text: str) -> Decimal | None:
    return Decimal(text) if _NUMBER.match(text) else None


def _share_count(text: str) -> Decimal:
    value = _number(text)
    if value is None:
        raise UserError(INVALID_QUANTITY)
    if value <= 0:
        raise UserError("Quantity must be positive.")
    if value > MAX_SHARES:
        raise UserError(f"That is more shares than one trade may move (at most {MAX_SHARES:,}).")
    shares = four(value)
    if shares == 0:
        raise UserError("The smallest trade is 0.0001 shares.")
    return shares


def parse_buy_amount(text: str) -> BuyAmount:
    text = text.strip()
    if text.startswith("$"):
        value = _number(text[1:].strip().replace(",", ""))
        if value is None:
            raise UserError("Invalid dollar amount.")
        if value <= 0:
            raise UserError("Amount must be positive.")
        if value > MAX_DOLLARS:
            raise UserError("Invalid dollar amount.")
        return BuyAmount(dollars=four(value))
    return BuyAmount(shares=_share_count(text))


def parse_sell_amount(text: str) -> Decimal | None:
    """A share count, or None for `all`."""
    text = text.strip()
    if text.lower() == "all":
        return None
    if text.startswith("$"):
        raise UserError("Sell by share count or `all` (dollar amounts are for buying).")
    return _share_count(text)


# -- display ---------------------------------------------------------------------------------------
def dollars(value: Decimal) -> str:
    """$1,234.56 (two places: what the original shows)."""
    rounded = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    sign = "-" if rounded < 0 else ""
    return f"{sign}${abs(rounded):,.2f}"


def signed_dollars(value: Decimal) -> str:
    return ("+" if value >= 0 else "") + dollars(value)


def shares(value: Decimal) -> str:
    """1.5, 10, 0.0001: up to 4 places, no trailing zeros."""
    text = f"{four(value):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def percent(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):+.2f}%"
