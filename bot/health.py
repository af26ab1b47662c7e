"""GET /healthz: whether the database and the NLU server answer, and when the sender and the
scheduler were last seen; GET /livez: the process is up (no I/O at all)."""
from __future__ import annotations

import logging

from flask import Blueprint, Flask, jsonify

from bot.services import services
from models.heartbeats import SCHEDULER, SENDER, last_seen

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz():
    svc = services()
    db_ok = svc.db.ping()
    seen = {}
    if db_ok:
        try:
            with svc.db.session() as session:
                seen = last_seen(session)
        except Exception:  # noqa: BLE001 - e.g. not migrated yet: no heartbeat to report
            log.warning("healthz: could not read the heartbeats (is the database migrated?)")
    status = {"db": db_ok, "nlu": svc.nlu.is_ready(timeout=1.0)}
    for key, process in (("sender_seen", SENDER), ("scheduler_seen", SCHEDULER)):
        status[key] = seen[process].isoformat() if process in seen else None
    # 200 while the database answers (menus work without the NLU: "nlu": false is degraded,
    # not down); 503 when it does not, so a load balancer or monitor sees the outage.
    return jsonify(status), 200 if db_ok else 503


@bp.get("/livez")
def livez():
    return jsonify({"live": True}), 200


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
