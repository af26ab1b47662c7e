"""The staff console: a Flask blueprint under /console/ (login required everywhere)."""
from __future__ import annotations

from datetime import timedelta
from functools import wraps

from flask import Blueprint, Flask, abort, render_template, request
from flask_login import LoginManager, current_user, login_required
from flask_wtf.csrf import CSRFError, CSRFProtect

from bot.clock import LIMA
from bot.phones import mask
from bot.runtime import services
from models import AuditLog, User
from models.marks import is_demo

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
               static_folder="static", static_url_path="/static")
csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "console.login"
login_manager.login_message = "Inicia sesión para entrar a la consola."
login_manager.session_protection = "strong"

# Which roles open which page; tests walk this table for every role.
ACCESS = {
    "dashboard": {"admin", "coordinator", "reviewer", "counsellor"},
    "conversations": {"admin", "coordinator", "reviewer", "counsellor"},
    "review": {"admin", "reviewer"},
    "retrain": {"admin", "reviewer"},
    "handoffs": {"admin", "coordinator", "counsellor"},
    "campaigns": {"admin", "coordinator"},
    "surveys": {"admin", "coordinator"},
    "reminders": {"admin", "coordinator"},
    "users": {"admin"},
    "audit": {"admin"},
}


def allowed(page: str, user=None) -> bool:
    """Return whether `user` (the current one by default) may open `page`."""
    user = user or current_user
    return bool(getattr(user, "is_authenticated", False)) and user.role in ACCESS[page]


def page(name: str):
    """Require a signed-in user whose role may open the page `name` (else 403)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def checked(*args, **kwargs):
            if not allowed(name):
                abort(403)
            return view(*args, **kwargs)

        return checked

    return decorator


def audit(action: str, target: str | None = None, user: User | None = None,
          email: str | None = None, **detail) -> None:
    """Add one row to the audit log, in its own transaction."""
    user = user if user is not None else (current_user if current_user.is_authenticated else None)
    with services().db.session() as session:
        session.add(AuditLog(user_id=user.id if user else None,
                             email=email or (user.email if user else None), action=action,
                             target=target, detail=detail, ip=request.remote_addr))


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
    """Register the console, CSRF protection, sessions and secure cookie settings."""
    from bot import webhook
    from bot.console import (admin, auth, campaigns, conversations, dashboard,  # noqa: F401
                             handoffs, reminders, retraining, review, surveys)

    https = (app.config["CHASKI"].public_url or "").startswith("https://")
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=https,
        REMEMBER_COOKIE_HTTPONLY=True, REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=https, PERMANENT_SESSION_LIFETIME=timedelta(hours=8),
        WTF_CSRF_TIME_LIMIT=8 * 3600,
    )
    csrf.init_app(app)
    # Twilio cannot send a CSRF token: its webhooks keep the signature check instead.
    csrf.exempt(webhook.bp)
    login_manager.init_app(app)
    app.register_blueprint(bp)
    app.register_error_handler(CSRFError, _csrf_error)
    app.jinja_env.filters["lima"] = lima_time
    app.jinja_env.globals.update(show_phone=show_phone, allowed=allowed)
