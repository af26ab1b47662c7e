"""Plain records of stored facts that flows read (prices, markets, alerts), and the Facts
protocol flows ask them through; no SQLAlchemy."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

LIMA = ZoneInfo("America/Lima")


@dataclass(frozen=True)
class MarketView:
    """A market as flows show it."""

    id: int
    name: str
    region: str

    @property
    def short(self) -> str:
        """Return the short name: "Huancayo" for "Mercado Mayorista Raez Patiño - Huancayo"."""
        return self.name.rsplit(" - ", 1)[-1].strip() if " - " in self.name else self.name


@dataclass(frozen=True)
class PriceView:
    """The latest report of a product (variety, unit) at a market, with the one before it."""

    product: str
    variety: str
    market: MarketView
    unit: str
    day: date
    min_cents: int | None
    avg_cents: int
    max_cents: int | None
    source: str
    previous_day: date | None = None
    previous_avg_cents: int | None = None

    @property
    def label(self) -> str:
        return f"{self.product} {self.variety}".strip()


@dataclass(frozen=True)
class AlertView:
    """One active warning (a CAP info block) as flows show it."""

    identifier: str
    event: str
    headline: str | None
    level: str | None
    hazards: tuple[str, ...]
    starts_at: datetime
    ends_at: datetime
    sent: datetime
    instruction: str | None
    description: str | None
    source: str
    areas: tuple[str, ...] = field(default_factory=tuple)
    regions: tuple[str, ...] = field(default_factory=tuple)
    confirmed: bool = True  # False: from a feed a coordinator has not approved yet


def lima_date(moment: datetime) -> date:
    """Return the calendar date in Peru of an aware datetime."""
    return moment.astimezone(LIMA).date()


def lima_time(moment: datetime, with_year: bool = False) -> str:
    """Return "21/11 18:00" (or "21/11/2026 18:00") in Peru time."""
    local = moment.astimezone(LIMA)
    return local.strftime("%d/%m/%Y %H:%M" if with_year else "%d/%m %H:%M")


class Facts(Protocol):
    """What flows may ask about stored data (read-only); the engine passes one per turn."""

    def products(self, market_ids: list[int] | None = None, limit: int = 8) -> list[str]: ...

    def find_product(self, text: str) -> tuple[str, str] | None: ...

    def similar_products(self, text: str, limit: int = 3) -> list[str]: ...

    def markets_at(self, place_name: str) -> list[MarketView]: ...

    def markets_in(self, region: str) -> list[MarketView]: ...

    def latest_prices(self, product: str, variety: str = "",
                      market_ids: list[int] | None = None) -> list[PriceView]: ...

    def active_alerts(self, region: str | None = None,
                      hazard: str | None = None) -> list[AlertView]: ...


class NoFacts:
    """Stand-in for Facts when a flow runs without stored data (pure tests): nothing is known."""

    def products(self, market_ids=None, limit=8):
        return []

    def find_product(self, text):
        return None

    def similar_products(self, text, limit=3):
        return []

    def markets_at(self, place_name):
        return []

    def markets_in(self, region):
        return []

    def latest_prices(self, product, variety="", market_ids=None):
        return []

    def active_alerts(self, region=None, hazard=None):
        return []
