"""Survey results: response rates, per-question counts and figures, the CSV export."""
from __future__ import annotations

import csv
import statistics
from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.channels.phones import mask
from bot.csvsafe import safe_row
from models import Contact, Survey, SurveyAnswer, SurveyParticipant

STATUSES = ("invited", "answering", "completed", "stopped", "left", "expired")


def rates(session: Session, s: Survey) -> dict:
    """Return participants per status, how many answered at least once, and the rates."""
    by_status = dict(session.execute(
        select(SurveyParticipant.status, func.count()).where(SurveyParticipant.survey_id == s.id)
        .group_by(SurveyParticipant.status)).all())
    invited = sum(by_status.values())
    answered = session.scalar(
        select(func.count(func.distinct(SurveyAnswer.participant_id)))
        .join(SurveyParticipant, SurveyParticipant.id == SurveyAnswer.participant_id)
        .where(SurveyParticipant.survey_id == s.id, SurveyAnswer.skipped.is_(False))) or 0
    completed = by_status.get("completed", 0)
    return {"invited": invited, "answered": answered, "completed": completed,
            "stopped": by_status.get("stopped", 0),
            "by_status": {k: by_status.get(k, 0) for k in STATUSES},
            "response_rate": answered / invited if invited else None,
            "completion_rate": completed / invited if invited else None}


def results(session: Session, s: Survey, latest: int = 10) -> dict:
    """Return the rates and, per question, option counts, number figures, date range or texts."""
    answers = session.execute(
        select(SurveyAnswer.question_key, SurveyAnswer.value, SurveyAnswer.skipped,
               SurveyAnswer.answered_at)
        .join(SurveyParticipant, SurveyParticipant.id == SurveyAnswer.participant_id)
        .where(SurveyParticipant.survey_id == s.id).order_by(SurveyAnswer.answered_at.desc(),
                                                             SurveyAnswer.id.desc())).all()
    per_key: dict[str, list] = {}
    skipped: Counter = Counter()
    for key, value, was_skipped, _at in answers:
        if was_skipped:
            skipped[key] += 1
        else:
            per_key.setdefault(key, []).append(value)
    questions = []
    for q in s.questions:
        values = per_key.get(q["key"], [])
        item = {"key": q["key"], "type": q["type"], "text": q["text"]["es"], "n": len(values),
                "skipped": skipped[q["key"]]}
        if q["type"] in ("choice", "yes_no"):
            options = (q["options"] if q["type"] == "choice"
                       else [{"value": "si", "es": "Sí"}, {"value": "no", "es": "No"}])
            counts = Counter(values)
            item["counts"] = [(o["es"], counts.get(o["value"], 0)) for o in options]
        elif q["type"] == "number":
            numbers = [float(v) for v in values]
            item["unit"] = q.get("unit", "")
            item["figures"] = ({"min": min(numbers), "median": statistics.median(numbers),
                                "mean": round(statistics.fmean(numbers), 2), "max": max(numbers)}
                               if numbers else None)
        elif q["type"] == "date":  # ISO strings sort as dates
            item["dates"] = ({"earliest": min(values), "latest": max(values)} if values else None)
        else:
            item["latest"] = values[:latest]
        questions.append(item)
    return {"survey": s.slug, "title": s.title, "status": s.status, "source": s.source,
            "rates": rates(session, s), "questions": questions}


def write_csv(session: Session, s: Survey, fh, full_phone: bool = False, progress=None) -> int:
    """Write one row per participant (phone masked unless full_phone); return the row count."""
    keys = [q["key"] for q in s.questions]
    writer = csv.writer(fh)
    writer.writerow(safe_row(["participant_id", "contact_id", "phone", "language", "region",
                              "channel", "status", "invited_at", "reminded_at", "finished_at",
                              *keys]))
    answers: dict[int, dict] = {}
    for pid, key, value, was_skipped in session.execute(
            select(SurveyAnswer.participant_id, SurveyAnswer.question_key, SurveyAnswer.value,
                   SurveyAnswer.skipped)
            .join(SurveyParticipant, SurveyParticipant.id == SurveyAnswer.participant_id)
            .where(SurveyParticipant.survey_id == s.id)):
        answers.setdefault(pid, {})[key] = "(saltada)" if was_skipped else value
    rows = session.execute(
        select(SurveyParticipant, Contact).join(Contact, Contact.id == SurveyParticipant.contact_id)
        .where(SurveyParticipant.survey_id == s.id).order_by(SurveyParticipant.id)).all()
    for p, c in rows:
        given = answers.get(p.id, {})
        # Answers are free SMS text: "=HYPERLINK(...)" must not run in whoever opens the file.
        writer.writerow(safe_row([p.id, c.id, c.phone if full_phone else mask(c.phone), c.language,
                                  c.region or "", p.channel, p.status, _iso(p.invited_at),
                                  _iso(p.reminded_at), _iso(p.finished_at),
                                  *(given.get(k, "") for k in keys)]))
        if progress:
            progress(1)
    return len(rows)


def _iso(value) -> str:
    return value.isoformat(timespec="seconds") if value else ""
