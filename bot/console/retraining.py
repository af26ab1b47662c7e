"""Retraining page: queue an NLU retraining and follow it (the scheduler runs it)."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from bot.console import bp
from bot.console.access import audit, page
from bot.services import services
from bot.training.runs import RunInProgress, active_run, enqueue
from models import TrainingRun, utcnow
from nlu import runtime as nlu_runtime

RUNS_SHOWN = 20
REFRESH_SECONDS = 10


def model_for_current_data() -> str | None:
    """Return the name of the model the current nlu/data trains (what the next start serves)."""
    try:
        return nlu_runtime.model_name()
    except nlu_runtime.NLURuntimeError:
        return None


def served_model() -> str | None:
    """Return the model file the running Rasa server reports (GET /status), if it answers."""
    nlu = services().nlu
    try:
        response = nlu.session.get(nlu.base_url + "/status", timeout=1.0)
        return str(response.json().get("model_file") or "").rsplit("/", 1)[-1] or None
    except Exception:  # noqa: BLE001 - a server that is down simply shows no model
        return None


@bp.get("/reentrenar")
@page("retrain")
def retraining():
    """List the retraining runs; refresh while one is queued or running."""
    with services().db.session() as session:
        runs = session.scalars(select(TrainingRun).order_by(TrainingRun.id.desc())
                               .limit(RUNS_SHOWN)).all()
        current = active_run(session)
    return render_template("console/retrain.html", runs=runs, current=current,
                           refresh=REFRESH_SECONDS if current else None,
                           data_model=model_for_current_data(), served=served_model())


@bp.post("/reentrenar")
@page("retrain")
def queue_retraining():
    """Queue a retraining for the scheduler; a second click shows the one in progress."""
    try:
        with services().db.session() as session:
            run = enqueue(session, requested_by=current_user.email, user_id=current_user.id,
                          now=utcnow())
            run_id = run.id
    except RunInProgress as exc:
        flash(f"Ya hay un reentrenamiento en curso (#{exc.run_id}, "
              f"{'en cola' if exc.status == 'queued' else 'ejecutándose'}).")
        return redirect(url_for("console.retraining"))
    audit("retrain_queued", target=f"training_run:{run_id}")
    flash(f"Reentrenamiento #{run_id} en cola: el programador lo empieza en menos de un minuto. "
          "Esta página se actualiza sola.")
    return redirect(url_for("console.retraining"))
