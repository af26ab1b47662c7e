"""Review before push: list alerts, preview who a push would reach, approve, hold or cancel.

An approved alert is pushed through bot/proactive/alert_pushes.py exactly as an
import would push it (quiet hours except red, expiry, opt-out, the violence-topic
hold all apply there and in the sender). A Cancel from staff is stored as a CAP
Cancel of our own that references the alert, so those already sent it are told
it no longer holds, as a Cancel from the warning service would.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from bot.proactive.alert_pushes import key_prefix, queue_alert_pushes
from models import Alert, AlertInfo, OutboxMessage
from models.alerts import APPROVED, CANCELLED, CURRENT, HELD, NO_REVIEW, PENDING

CONSOLE_SENDER = "consola@chaski"
LEVEL_RANK = {"amarillo": 1, "naranja": 2, "rojo": 3}


class ReviewError(Exception):
    """The action does not apply to this alert (its message says why, in Spanish)."""


def find(session: Session, identifier: str) -> Alert:
    """Return the alert with this CAP identifier (or database id); raise ReviewError if none."""
    alert = session.scalar(select(Alert).where(Alert.identifier == identifier).order_by(Alert.id.desc()))
    if alert is None and identifier.isdigit():
        alert = session.get(Alert, int(identifier))
    if alert is None:
        raise ReviewError(f"No hay un aviso {identifier!r} / no alert {identifier!r}")
    return alert


def alerts_by_group(session: Session, now: datetime, limit: int = 100) -> dict[str, list[Alert]]:
    """Return alerts as the console groups them: pending (and held), current, expired or ended."""
    alerts = session.scalars(select(Alert).where(Alert.msg_type.in_(["Alert", "Update"]))
                             .options(selectinload(Alert.infos).selectinload(AlertInfo.areas))
                             .order_by(Alert.sent.desc()).limit(limit * 3)).all()
    groups: dict[str, list[Alert]] = {"pending": [], "current": [], "expired": []}
    for alert in alerts:
        ends = max((i.ends_at for i in alert.infos), default=alert.sent)
        if alert.state == CURRENT and alert.review in (PENDING, HELD) and ends > now:
            groups["pending"].append(alert)
        elif alert.state == CURRENT and ends > now:
            groups["current"].append(alert)
        else:
            groups["expired"].append(alert)
    return {name: items[:limit] for name, items in groups.items()}


def pushed_counts(session: Session, alert: Alert) -> dict[str, int]:
    """Return {channel: rows} of the pushes already queued or sent for this alert."""
    rows = session.execute(select(OutboxMessage.channel, func.count()).where(
        OutboxMessage.key.startswith(f"{key_prefix(alert.identifier)}{alert.msg_type}:", autoescape=True))
        .group_by(OutboxMessage.channel)).all()
    return {"sms": 0, "whatsapp": 0, **dict(rows)}


def preview(db, alert_id: int, now: datetime) -> dict[str, int]:
    """Return {channel: people} an approval now would queue, by queueing in a transaction rolled back."""
    session = db.sessionmaker()
    try:
        alert = session.get(Alert, alert_id)
        before = pushed_counts(session, alert)
        queue_alert_pushes(session, alert, now)
        after = pushed_counts(session, alert)
        return {channel: after[channel] - before.get(channel, 0) for channel in after}
    finally:
        session.rollback()
        session.close()


def approve(session: Session, alert: Alert, now: datetime) -> int:
    """Approve a pending or held alert and queue its pushes now; return how many were queued."""
    if alert.review not in (PENDING, HELD):
        raise ReviewError("Este aviso no espera aprobación / this alert is not waiting for review")
    if alert.state != CURRENT:
        raise ReviewError("Este aviso ya fue reemplazado o cancelado / already replaced or cancelled")
    alert.review = APPROVED
    session.flush()
    return queue_alert_pushes(session, alert, now)


def hold(session: Session, alert: Alert) -> None:
    """Hold a pending alert: never pushed, not answered, until someone approves it."""
    if alert.review != PENDING:
        raise ReviewError("Solo un aviso pendiente se puede retener / only a pending alert can be held")
    alert.review = HELD


def cancel(session: Session, alert: Alert, now: datetime) -> int:
    """End a current alert; tell whoever was already sent it. Return how many rows were queued."""
    if alert.state != CURRENT:
        raise ReviewError("Este aviso ya no está vigente / this alert is no longer current")
    sent = alert.sent.isoformat()
    cancel_msg = Alert(identifier=f"chaski-cancel-{alert.id}-{now:%Y%m%dT%H%M%S}", sender=CONSOLE_SENDER,
                       sent=now, status=alert.status, msg_type="Cancel", scope=alert.scope,
                       refs=[[alert.sender, alert.identifier, sent]], state=CURRENT, review=NO_REVIEW,
                       source_file="consola", imported_at=now, feed_id=alert.feed_id)
    session.add(cancel_msg)
    session.flush()
    alert.state, alert.superseded_by_id = CANCELLED, cancel_msg.id
    session.flush()
    return queue_alert_pushes(session, cancel_msg, now)


def highest_levels(session: Session, now: datetime) -> dict[str, str]:
    """Return region -> the highest level of its current, confirmed or pending, unexpired alerts."""
    found: dict[str, str] = {}
    infos = session.scalars(select(AlertInfo).join(Alert, Alert.id == AlertInfo.alert_id).where(
        Alert.state == CURRENT, Alert.status == "Actual", Alert.msg_type.in_(["Alert", "Update"]),
        Alert.review != HELD, AlertInfo.ends_at > now).options(selectinload(AlertInfo.areas))).all()
    for info in infos:
        for area in info.areas:
            for region in area.regions or []:
                if LEVEL_RANK.get(info.level or "", 0) > LEVEL_RANK.get(found.get(region, ""), 0):
                    found[region] = info.level
    return found
