"""GET /healthz: whether the database and the NLU server answer."""
from __future__ import annotations

from flask import Blueprint, Flask, jsonify

from bot.services import services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    svc = services()
    status = {"db": svc.db.ping(), "nlu": svc.nlu.is_ready(timeout=1.0)}
    # Always 200 (menus work without the NLU); the body says what answers.
    return jsonify(status), 200


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
