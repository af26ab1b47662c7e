"""Precios: upload a price bulletin CSV (the same report and one-transaction rule as
`import-prices`) and see the latest bulletins by source and date."""
from __future__ import annotations

import tempfile
from pathlib import Path

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import func, select

from bot.console import bp
from bot.console.access import audit, page
from bot.knowledge.prices import BulletinError, import_prices
from bot.services import services
from models import Market, PriceReport, Product

MAX_UPLOAD = 5_000_000  # bytes; MIDAGRI's daily bulletins are a few hundred kB


def latest_bulletins(session, limit: int = 20) -> list[dict]:
    """Return the latest (source, date) bulletins with their row count, products and markets."""
    groups = session.execute(
        select(PriceReport.source, PriceReport.date, func.count())
        .group_by(PriceReport.source, PriceReport.date)
        .order_by(PriceReport.date.desc(), PriceReport.source).limit(limit)).all()
    found = []
    for source, day, rows in groups:
        where = (PriceReport.source == source, PriceReport.date == day)
        products = session.scalars(select(Product.name)
                                   .join(PriceReport, PriceReport.product_id == Product.id)
                                   .where(*where).distinct().order_by(Product.name)).all()
        markets = session.scalars(select(Market.name).join(PriceReport, PriceReport.market_id == Market.id)
                                  .where(*where).distinct().order_by(Market.name)).all()
        found.append({"source": source, "date": day, "rows": rows, "products": products,
                      "markets": markets})
    return found


@bp.get("/precios")
@page("prices")
def prices_page():
    """Show the upload form and the latest bulletins."""
    with services().db.session() as session:
        bulletins = latest_bulletins(session)
    return render_template("console/prices.html", bulletins=bulletins, max_upload=MAX_UPLOAD,
                           report=None)


@bp.post("/precios/subir")
@page("prices")
def prices_upload():
    """Import an uploaded bulletin: good rows in one transaction, bad ones listed by line."""
    upload = request.files.get("file")
    source = (request.form.get("source") or "").strip() or None
    if upload is None or not upload.filename:
        flash("Elige un archivo CSV para subir.", "error")
        return redirect(url_for("console.prices_page"))
    name = Path(upload.filename).name[:200] or "boletin.csv"
    raw = upload.stream.read(MAX_UPLOAD + 1)
    if len(raw) > MAX_UPLOAD:
        flash(f"{name}: el archivo pasa de {MAX_UPLOAD // 1_000_000} MB; no se importó nada.", "error")
        audit("prices_upload_refused", target=name, reason="too large")
        return redirect(url_for("console.prices_page"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(raw)
        try:
            with services().db.session() as session:
                result = import_prices(session, path, source=source)
        except BulletinError as exc:
            message = str(exc).replace(str(path), name)
            flash(f"No se importó nada: {message}", "error")
            audit("prices_upload_refused", target=name, reason=message[:300])
            return redirect(url_for("console.prices_page"))
    audit("prices_upload", target=name, source=result.source, imported=result.imported,
          updated=result.updated, unchanged=result.unchanged, rejected=len(result.rejected))
    with services().db.session() as session:
        bulletins = latest_bulletins(session)
    return render_template("console/prices.html", bulletins=bulletins, max_upload=MAX_UPLOAD,
                           report={"name": name, "result": result})
