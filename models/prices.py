"""Market prices: markets, products and the price reports of imported bulletins."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow


class Market(Base):
    """A wholesale market, keyed by its normalised name (e.g. "mercado raez patino huancayo")."""

    __tablename__ = "markets"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    department: Mapped[str] = mapped_column(String(40), index=True)  # region key: "junin"
    province: Mapped[str | None] = mapped_column(String(60))
    places: Mapped[list] = mapped_column(default=list)  # place names (normalised) it answers to


class Product(Base):
    """A product as bulletins name it, canonical lower-case name without accents."""

    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)  # "papa", "maiz amarillo duro"
    aliases: Mapped[list] = mapped_column(default=list)  # other spellings: "papita", "papas"
    default_unit: Mapped[str] = mapped_column(String(20), default="kg")


class PriceReport(Base):
    """One line of a bulletin: a product's prices at a market on a date, in soles per unit.

    Prices are stored in céntimos (integers) so that they compare exactly. The
    unique key (date, market, product, variety, unit) makes re-imports idempotent:
    the same line again changes nothing, a corrected line updates the row.
    """

    __tablename__ = "price_reports"
    __table_args__ = (
        UniqueConstraint("date", "market_id", "product_id", "variety", "unit",
                         name="uq_price_reports_line"),
        Index("ix_price_reports_product_date", "product_id", "date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    date: Mapped[date] = mapped_column(Date)
    market_id: Mapped[int] = mapped_column(ForeignKey("markets.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    variety: Mapped[str] = mapped_column(String(60), default="")  # "" when the bulletin has none
    unit: Mapped[str] = mapped_column(String(20))
    min_cents: Mapped[int | None]
    avg_cents: Mapped[int]
    max_cents: Mapped[int | None]
    source: Mapped[str] = mapped_column(String(80))  # shown with every price: "MIDAGRI", "MUESTRA..."
    source_file: Mapped[str] = mapped_column(String(200))
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)

    market: Mapped[Market] = relationship(lazy="joined")
    product: Mapped[Product] = relationship(lazy="joined")
