"""Surveys in the console: response rates, results with charts, CSV export, send to a segment."""
from __future__ import annotations

import io

from flask import Response, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from bot.console import bp, get_or_404
from bot.console.access import audit, page
from bot.console.charts import hbars
from bot.services import services
from bot.surveys import service as surveys
from bot.surveys.results import rates, results, write_csv
from models import Survey, utcnow


def _segment(form) -> dict:
    """Read the segment fields of the send form (empty fields are left out)."""
    regions = [v.strip().lower() for value in form.getlist("region") for v in value.split(",")]
    segment = {"region": [v for v in regions if v],
               "language": [v for v in form.getlist("language") if v],
               "channel": form.get("channel") or None}
    days = form.get("active_days", "").strip()
    if days:
        segment["active_days"] = int(days) if days.isdigit() else None
    return {k: v for k, v in segment.items() if v not in (None, [], "")}


@bp.get("/encuestas")
@page("surveys")
def surveys_list():
    """List surveys with their response rates."""
    with services().db.session() as session:
        rows = [(s, rates(session, s)) for s in
                session.scalars(select(Survey).order_by(Survey.id.desc()))]
    return render_template("console/surveys.html", rows=rows)


@bp.get("/encuestas/<int:survey_id>")
@page("surveys")
def survey_results(survey_id: int):
    """Show a survey's results as charts, and the form to send it to a segment."""
    segment = _segment(request.args)
    with services().db.session() as session:
        survey = get_or_404(session, Survey, survey_id)
        r = results(session, survey)
        preview = (len(surveys.audience(session, segment, utcnow()))
                   if request.args.get("vista") else None)
    charts = {q["key"]: hbars(q["counts"]) for q in r["questions"] if "counts" in q}
    return render_template("console/survey.html", survey=survey, r=r, charts=charts,
                           segment=segment, preview=preview)


@bp.post("/encuestas/<int:survey_id>/enviar")
@page("surveys")
def survey_send(survey_id: int):
    """Invite the chosen segment (people already invited are not invited again)."""
    segment = _segment(request.form)
    try:
        with services().db.session() as session:
            survey = get_or_404(session, Survey, survey_id)
            counts = surveys.send(session, survey, segment, utcnow())
            slug = survey.slug
    except surveys.SurveyError as exc:
        flash(f"No se envió: {exc}", "error")
        return redirect(url_for("console.survey_results", survey_id=survey_id))
    audit("survey_send", f"survey:{survey_id}", segment=segment, invited=counts["invited"])
    flash(f"Encuesta {slug}: {counts['invited']} personas invitadas "
          f"({counts['already_invited']} ya lo estaban).")
    return redirect(url_for("console.survey_results", survey_id=survey_id))


@bp.get("/encuestas/<int:survey_id>/csv")
@page("surveys")
def survey_csv(survey_id: int):
    """Download one row per participant (phone masked for roles that see masked numbers)."""
    out = io.StringIO()
    with services().db.session() as session:
        survey = get_or_404(session, Survey, survey_id)
        n = write_csv(session, survey, out, full_phone=current_user.sees_full_phone)
        slug = survey.slug
    audit("survey_export", f"survey:{survey_id}", rows=n)
    return Response(out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename=encuesta-{slug}.csv"})
