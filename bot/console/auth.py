"""Sign in and out of the console, with lock-out after repeated wrong passwords.

Two limits: an account locks after 5 wrong passwords (models/users.py), and an
address (the client IP, after ProxyFix) that failed IP_FAILURE_LIMIT sign-ins in
IP_WINDOW is refused without checking the password until its failures age out,
so one machine cannot try passwords across many accounts. The failures are
counted from the audit log, so the limit holds across workers and restarts.
"""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlparse

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from bot.console import bp
from bot.console.access import audit
from bot.services import services
from models import AuditLog, User, utcnow

IP_FAILURE_LIMIT, IP_WINDOW = 20, timedelta(minutes=15)
FAILURES = ("login_failed", "login_locked")

# Checked against when the e-mail is unknown, so both cases take the same time.
_DUMMY_HASH = generate_password_hash("chaski-no-such-user")


def _safe_next(target: str | None) -> str:
    """Return `target` if it is a path inside the console, else the console's home."""
    if target and target.startswith("/console/") and not urlparse(target).netloc \
            and not target.startswith("//"):
        return target
    return url_for("console.dashboard")


def failures_from(session, ip: str | None, now) -> int:
    """Count the failed sign-ins from `ip` within IP_WINDOW before `now`."""
    return session.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.created_at >= now - IP_WINDOW, AuditLog.ip == ip,
        AuditLog.action.in_(FAILURES))) or 0


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the sign-in form; sign in, or count a failure and maybe lock the account."""
    if current_user.is_authenticated:
        return redirect(url_for("console.dashboard"))
    error = None
    email = ""
    if request.method == "POST":
        email = (request.form.get("email") or "").strip().lower()
        password = request.form.get("password") or ""
        now = utcnow()
        with services().db.session() as session:
            throttled = failures_from(session, request.remote_addr, now) >= IP_FAILURE_LIMIT
        if throttled:
            audit("login_throttled", email=email)
            error = ("Demasiados intentos fallidos desde esta conexión. Espera 15 minutos "
                     "e inténtalo otra vez.")
            return render_template("console/login.html", error=error, email=email), 429
        with services().db.session() as session:
            user = session.scalar(select(User).where(func.lower(User.email) == email))
            if user is None:
                check_password_hash(_DUMMY_HASH, password)
                ok, locked = False, False
            else:
                was_locked = user.is_locked(now)
                ok = user.check_login(password, now)
                locked = user.is_locked(now)
        if ok:
            login_user(user)
            audit("login", user=user)
            return redirect(_safe_next(request.args.get("next")))
        if user is not None and locked:
            audit("login_locked", user=user, already_locked=was_locked)
            error = ("Demasiados intentos fallidos: la cuenta está bloqueada 15 minutos. "
                     "Un administrador puede desbloquearla.")
        else:
            audit("login_failed", user=user, email=email,
                  reason="inactive" if user is not None and not user.active else "password")
            error = "Correo o contraseña incorrectos."
    return render_template("console/login.html", error=error, email=email), (401 if error else 200)


@bp.post("/logout")
@login_required
def logout():
    """Sign out (a POST with a CSRF token, so no other site can sign staff out)."""
    audit("logout")
    logout_user()
    flash("Sesión cerrada.")
    return redirect(url_for("console.login"))
