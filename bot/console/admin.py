"""Administration: staff accounts (create, unlock, deactivate) and the audit log."""
from __future__ import annotations

import re

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from bot.console import bp
from bot.console.access import audit, page
from bot.services import services
from models import ROLES, AuditLog, User

MIN_PASSWORD = 10
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ROLE_NAMES = {"admin": "administración", "coordinator": "coordinación",
              "reviewer": "revisión", "counsellor": "consejería", "translator": "traducción",
              "technician": "técnico"}


def create_user(session, email: str, role: str, password: str) -> User:
    """Add a user; raise ValueError (in Spanish) if a field is not acceptable."""
    email = (email or "").strip().lower()
    if not EMAIL.match(email):
        raise ValueError("el correo no es válido")
    if role not in ROLES:
        raise ValueError(f"rol desconocido (válidos: {', '.join(ROLES)})")
    if len(password or "") < MIN_PASSWORD:
        raise ValueError(f"la contraseña necesita al menos {MIN_PASSWORD} caracteres")
    if session.scalar(select(User.id).where(func.lower(User.email) == email)) is not None:
        raise ValueError("ya existe una cuenta con ese correo")
    user = User(email=email, role=role, active=True, failed_logins=0)
    user.set_password(password)
    session.add(user)
    session.flush()
    return user


@bp.get("/usuarios")
@page("users")
def users():
    """List staff accounts."""
    with services().db.session() as session:
        rows = session.scalars(select(User).order_by(User.email)).all()
    return render_template("console/users.html", users=rows, roles=ROLES, role_names=ROLE_NAMES)


@bp.post("/usuarios")
@page("users")
def users_create():
    """Create a staff account from the form."""
    try:
        with services().db.session() as session:
            user = create_user(session, request.form.get("email", ""),
                               request.form.get("role", ""), request.form.get("password", ""))
    except ValueError as exc:
        flash(f"No se creó la cuenta: {exc}.", "error")
        return redirect(url_for("console.users"))
    audit("user_create", target=f"user:{user.id}", role=user.role)
    flash(f"Cuenta creada: {user.email} ({ROLE_NAMES[user.role]}).")
    return redirect(url_for("console.users"))


@bp.post("/usuarios/<int:user_id>/<action>")
@page("users")
def users_action(user_id: int, action: str):
    """Unlock, deactivate or reactivate one account."""
    if action not in ("desbloquear", "desactivar", "activar"):
        abort(404)
    if user_id == current_user.id and action == "desactivar":
        flash("No puedes desactivar tu propia cuenta.", "error")
        return redirect(url_for("console.users"))
    with services().db.session() as session:
        user = session.get(User, user_id)
        if user is None:
            abort(404)
        if action == "desbloquear":
            user.locked_until, user.failed_logins = None, 0
        else:
            user.active = action == "activar"
    audit(f"user_{action}", target=f"user:{user_id}")
    flash("Cuenta actualizada.")
    return redirect(url_for("console.users"))


@bp.get("/auditoria")
@page("audit")
def audit_log():
    """Show the newest audit rows, optionally of one action."""
    action = request.args.get("accion") or ""
    query = select(AuditLog).order_by(AuditLog.created_at.desc(), AuditLog.id.desc()).limit(300)
    if action:
        query = query.where(AuditLog.action == action)
    with services().db.session() as session:
        rows = session.scalars(query).all()
        actions = session.scalars(select(AuditLog.action).distinct().order_by(AuditLog.action)).all()
    return render_template("console/audit.html", rows=rows, actions=actions, action=action)
