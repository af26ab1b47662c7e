"""Read-only queries that flows may make during one turn (prices, alerts...).

Flows stay free of SQLAlchemy: the engine hands them a Facts object bound to the
turn's session, and unit tests hand them a small fake with the same methods.
Every method returns plain records from flows.records.
"""
from __future__ import annotations

import difflib
from datetime import datetime

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, selectinload

from flows.places import key, place
from flows.products import canonical, split_variety
from flows.records import AlertView, MarketView, PriceView
from models import Alert, AlertInfo, Market, PriceReport, Product
from models.alerts import CURRENT, HELD, PENDING

LEVEL_RANK = {"rojo": 3, "naranja": 2, "amarillo": 1}
# Product names with the most reports, most reported first: built once (menu option 1 asks it).
MOST_REPORTED = (select(Product.name).join(PriceReport, PriceReport.product_id == Product.id)
                 .group_by(Product.name).order_by(func.count(PriceReport.id).desc(), Product.name)
                 .limit(bindparam("limit")))
MOST_REPORTED_AT = MOST_REPORTED.where(PriceReport.market_id.in_(bindparam("markets", expanding=True)))


class Facts:
    """Answer the questions flows ask about stored data, within one session."""

    def __init__(self, session: Session, now: datetime, exercises: bool = False):
        self.session = session
        self.now = now
        # CAP statuses answered: Exercise alerts (the demo's samples) only to demo contacts.
        self.statuses = ("Actual", "Exercise") if exercises else ("Actual",)

    # ---- products and markets ----
    def products(self, market_ids: list[int] | None = None, limit: int = 8) -> list[str]:
        """Return product names with the most reports (at these markets), most reported first."""
        if market_ids is None:
            query, params = MOST_REPORTED, {"limit": limit}
        else:
            query, params = MOST_REPORTED_AT, {"limit": limit, "markets": list(market_ids)}
        return list(self.session.connection().execute(query, params).scalars())

    def find_product(self, text: str) -> tuple[str, str] | None:
        """Return (product, variety) for a product name, alias or "product variety"; else None."""
        names = self._product_names()
        value = canonical(text)
        if value in names:
            return value, ""
        product, variety = split_variety(value, "")
        if product in names:
            return product, variety
        return None

    def similar_products(self, text: str, limit: int = 3) -> list[str]:
        """Return the known products closest to a misspelt name."""
        names = self._product_names()
        spellings = {alias: name for name, aliases in names.items() for alias in aliases}
        spellings.update({name: name for name in names})
        close = difflib.get_close_matches(key(text), list(spellings), n=limit * 2, cutoff=0.7)
        return list(dict.fromkeys(spellings[c] for c in close))[:limit]

    def _product_names(self) -> dict[str, list[str]]:
        if not hasattr(self, "_names"):
            self._names = dict(self.session.execute(select(Product.name, Product.aliases)).all())
        return self._names

    def markets_at(self, place_name: str) -> list[MarketView]:
        """Return the markets a place name stands for: the market itself, else its region's."""
        value = key(place_name)
        rows = self.session.scalars(select(Market).order_by(Market.name)).all()
        markets = [self._market(row) for row in rows]
        named = [view for view, row in zip(markets, rows)
                 if value in (row.places or []) or f" {value} " in f" {row.key} "]
        if named:
            return named
        where = place(value)
        if where and where[1] is None:  # a department: every market in it
            return [view for view in markets if view.region == where[0]]
        return []

    def markets_in(self, region: str) -> list[MarketView]:
        """Return the markets of a region."""
        rows = self.session.scalars(select(Market).where(Market.department == region).order_by(Market.name))
        return [self._market(m) for m in rows]

    @staticmethod
    def _market(row: Market) -> MarketView:
        return MarketView(row.id, row.name, row.department)

    # ---- prices ----
    def latest_prices(self, product: str, variety: str = "",
                      market_ids: list[int] | None = None) -> list[PriceView]:
        """Return the latest report per (market, variety, unit), newest first, with the one before."""
        rank = func.row_number().over(
            partition_by=(PriceReport.market_id, PriceReport.variety, PriceReport.unit),
            order_by=PriceReport.date.desc()).label("rank")
        ranked = (select(PriceReport.id, rank).join(Product, Product.id == PriceReport.product_id)
                  .where(Product.name == product))
        if variety:
            ranked = ranked.where(PriceReport.variety == variety)
        if market_ids is not None:
            ranked = ranked.where(PriceReport.market_id.in_(market_ids))
        ranked = ranked.subquery()
        rows = self.session.execute(
            select(PriceReport, ranked.c.rank).join(ranked, ranked.c.id == PriceReport.id)
            .where(ranked.c.rank <= 2)).all()
        latest, previous = {}, {}
        for report, position in rows:
            group = (report.market_id, report.variety, report.unit)
            (latest if position == 1 else previous)[group] = report
        views = [self._price(report, previous.get(group)) for group, report in latest.items()]
        return sorted(views, key=lambda v: (-v.day.toordinal(), v.market.name, v.variety, v.unit))

    def _price(self, report: PriceReport, before: PriceReport | None) -> PriceView:
        return PriceView(report.product.name, report.variety, self._market(report.market), report.unit,
                         report.date, report.min_cents, report.avg_cents, report.max_cents,
                         report.source, before.date if before else None,
                         before.avg_cents if before else None)

    # ---- alerts ----
    def active_alerts(self, region: str | None = None, hazard: str | None = None) -> list[AlertView]:
        """Return current, unexpired, public warnings for a region (and hazard), worst first."""
        infos = self.session.scalars(
            select(AlertInfo).join(Alert, Alert.id == AlertInfo.alert_id)
            .where(Alert.state == CURRENT, Alert.status.in_(self.statuses), Alert.scope == "Public",
                   Alert.msg_type.in_(["Alert", "Update"]), AlertInfo.ends_at > self.now,
                   Alert.review != HELD)
            .options(selectinload(AlertInfo.areas), selectinload(AlertInfo.alert))).all()
        views = []
        for info in infos:
            regions = tuple(sorted({r for area in info.areas for r in (area.regions or [])}))
            if region and region not in regions:
                continue
            if hazard and hazard not in (info.hazards or []):
                continue
            views.append(self.alert_view(info, regions))
        return sorted(views, key=lambda a: (-LEVEL_RANK.get(a.level or "", 0), a.starts_at))

    @staticmethod
    def alert_view(info: AlertInfo, regions: tuple[str, ...]) -> AlertView:
        alert = info.alert
        return AlertView(
            identifier=alert.identifier, event=info.event, headline=info.headline, level=info.level,
            hazards=tuple(info.hazards or ()), starts_at=info.onset or info.effective or alert.sent,
            ends_at=info.ends_at, sent=alert.sent, instruction=info.instruction,
            description=info.description, source=info.sender_name or alert.sender,
            areas=tuple(a.area_desc for a in info.areas), regions=regions,
            confirmed=alert.review != PENDING)
