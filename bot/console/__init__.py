"""The staff console: a Flask blueprint under /console/ (login required everywhere)."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Flask, abort, render_template
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFError

from bot.channels.phones import mask
from bot.clock import LIMA
from bot.console.access import allowed
from bot.services import services
from models import User
from models.marks import is_demo

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
               static_folder="static", static_url_path="/static")
login_manager = LoginManager()
login_manager.login_view = "console.login"
login_manager.login_message = "Inicia sesión para entrar a la consola."
login_manager.session_protection = "strong"

@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    if not user_id.isdigit():
        return None
    with services().db.session() as session:
        user = session.get(User, int(user_id))
    return user if user is not None and user.active else None


def get_or_404(session, model, row_id: int):
    """Return the `model` row with id `row_id`, or answer 404."""
    found = session.get(model, row_id)
    if found is None:
        abort(404)
    return found


def show_phone(phone: str) -> str:
    """Return `phone` as the current user may see it (masked for reviewers)."""
    return phone if current_user.is_authenticated and current_user.sees_full_phone else mask(phone)


def lima_time(value, fmt: str = "%d/%m/%Y %H:%M") -> str:
    return value.astimezone(LIMA).strftime(fmt) if value else ""


@bp.context_processor
def _demo_database() -> dict:
    """Tell every page whether this is the demo database (a banner says so)."""
    with services().db.session() as session:
        return {"demo_database": is_demo(session)}


@bp.errorhandler(403)
def _forbidden(_error):
    return render_template("console/error.html", code=403,
                           message="Tu rol no permite abrir esta página."), 403


@bp.errorhandler(404)
def _not_found(_error):
    return render_template("console/error.html", code=404,
                           message="No existe o no tienes permiso para verla."), 404


def _csrf_error(error: CSRFError):
    return render_template("console/error.html", code=400,
                           message="El formulario caducó o no es válido. Vuelve a cargar la "
                                   "página e inténtalo otra vez."), 400


def init_app(app: Flask) -> None:
    """Register the console, its sessions and secure cookie settings, and `create-user`."""
    # Imported here, not at the top: the page modules import `bp` and `page` from this module.
    from bot.console import (admin, auth, campaigns, contacts, conversations,  # noqa: F401
                             dashboard, handoffs, knowledge, reminders, retraining, review,
                             surveys, texts, unanswered, whatsapp)
    from bot.console import alerts, prices  # noqa: F401
    from bot.console.cli import cli
    from bot.cli import add_commands

    https = (app.config["CHASKI"].public_url or "").startswith("https://")
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=https,
        REMEMBER_COOKIE_HTTPONLY=True, REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=https, PERMANENT_SESSION_LIFETIME=timedelta(hours=8),
        WTF_CSRF_TIME_LIMIT=8 * 3600,
    )
    login_manager.init_app(app)
    app.register_blueprint(bp)
    app.register_error_handler(CSRFError, _csrf_error)
    app.jinja_env.filters["lima"] = lima_time
    app.jinja_env.globals.update(show_phone=show_phone, allowed=allowed)
    add_commands(app, cli)
