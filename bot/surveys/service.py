"""Surveys: load a data file, send it to a segment, take answers, remind once, expire.

Sending writes the participants and their first question into the outbox in the
caller's transaction, with keys "survey:<id>:contact:<cid>:invite", so sending
twice invites each contact once. Nobody in an open conversation about violence,
or with a redacted (violence) message in the last 30 days, is ever invited or
reminded; opted-out and unconsented contacts are never in a segment.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path

import yaml
from sqlalchemy import Boolean, Integer, String, and_, case, cast, func, literal, select, update
from sqlalchemy.orm import Session

from bot.outbound.outbox import cancel_queued, dialect_insert, enqueue_many
from bot.outbound.policy import (WHATSAPP_WINDOW, check_topic, first_attempt_at, in_open_support,
                                 reachable)
from bot.proactive.audience import SEGMENT_KEYS, segment_conditions, uses_channel
from bot.proactive.reminders import ReminderError, set_contact_date
from bot.settings import PROJECT_ROOT
from flows import survey as flow
from flows.catalog import t
from models import (Contact, ConversationState, Message, OutboxMessage, Survey, SurveyAnswer,
                    SurveyParticipant)
from models.base import UTCDateTime
from models.surveys import OPEN

SURVEYS_DIR = PROJECT_ROOT / "flows" / "data" / "surveys"
LANGUAGES = ("es", "qu", "ay")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,58}$")
VIOLENCE_LOOKBACK = timedelta(days=30)
DATE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")  # as bot.proactive.reminders.FIELD
ANSWER_WINDOW = timedelta(hours=24)  # after this, only readable answers go to the survey


class SurveyError(ValueError):
    """A survey file or command that cannot be accepted; the message says where and why."""


# ---- data files ----
def _lines(node, path=()) -> dict:
    """Map each key path of a YAML document to its line number (1-based)."""
    found = {path: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            found.update(_lines(value, (*path, key.value)))
    elif isinstance(node, yaml.SequenceNode):
        for i, value in enumerate(node.value):
            found.update(_lines(value, (*path, i)))
    return found


def read_file(path: Path | str) -> dict:
    """Read and validate a survey file; raise SurveyError listing every problem with its line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data, lines = yaml.safe_load(text), _lines(yaml.compose(text))
    except FileNotFoundError:
        raise SurveyError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise SurveyError(f"{path}: not UTF-8 text") from None
    except yaml.YAMLError as exc:
        raise SurveyError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise SurveyError(f"{path}: expected a mapping with slug, title, questions...")
    errors: list[str] = []

    def bad(where: tuple, problem: str) -> None:
        line = next((lines[where[:n]] for n in range(len(where), -1, -1) if where[:n] in lines), 1)
        errors.append(f"{path}:{line}: {'.'.join(map(str, where)) or 'file'}: {problem}")

    for field in ("slug", "title", "source", "owner", "date", "intro", "questions"):
        if not data.get(field):
            bad((field,), "missing")
    if data.get("slug") and not SLUG.match(str(data["slug"])):
        bad(("slug",), "use lower-case letters, digits and '-' (e.g. cosecha-2026)")
    if data.get("date") and not isinstance(data["date"], date):
        bad(("date",), "expected a date YYYY-MM-DD")
    for name in ("intro", "thanks"):
        _check_texts(data.get(name), (name,), bad, required=name == "intro")
    for name in ("reminder_after_hours", "closes_after_days"):
        if name in data and (not isinstance(data[name], int) or data[name] < 1):
            bad((name,), "expected a whole number of at least 1")
    questions = data.get("questions") or []
    if not isinstance(questions, list):
        bad(("questions",), "expected a list")
        questions = []
    keys = set()
    for i, q in enumerate(questions):
        _check_question(q, ("questions", i), bad, keys)
    if errors:
        raise SurveyError("\n".join(errors))
    return data


def _check_texts(value, where, bad, required=True) -> None:
    if value is None and not required:
        return
    if not isinstance(value, dict) or not str(value.get("es") or "").strip():
        bad(where, "needs a Spanish text (es: ...)")
    elif set(value) - set(LANGUAGES):
        bad(where, f"unknown language {sorted(set(value) - set(LANGUAGES))}; known: es, qu, ay")


def _check_question(q, where, bad, keys: set) -> None:
    if not isinstance(q, dict):
        return bad(where, "expected a mapping with key, type, text")
    key = q.get("key")
    if not key or not re.match(r"^[a-z0-9_]{1,40}$", str(key)):
        bad((*where, "key"), "missing or not lower_case_with_underscores (max 40)")
    elif key in keys:
        bad((*where, "key"), f"repeated key {key!r}")
    keys.add(key)
    if q.get("type") not in flow.TYPES:
        bad((*where, "type"), f"must be one of {', '.join(flow.TYPES)}, not {q.get('type')!r}")
    _check_texts(q.get("text"), (*where, "text"), bad)
    if q.get("type") == "choice":
        options = q.get("options")
        if not isinstance(options, list) or not 2 <= len(options) <= 9:
            bad((*where, "options"), "a choice needs 2 to 9 options")
        else:
            for j, o in enumerate(options):
                if not isinstance(o, dict) or not o.get("value") or not o.get("es"):
                    bad((*where, "options", j), "each option needs value and es")
    if q.get("type") == "number":
        low, high = q.get("min"), q.get("max")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high)):
            bad((*where, "min"), "a number question needs numeric min and max")
        elif low > high:
            bad((*where, "max"), f"max {high} is below min {low}")
    if q.get("type") == "text" and not 1 <= int(q.get("max_length", 160)) <= 400:
        bad((*where, "max_length"), "must be between 1 and 400")
    if "save_as" in q:
        if q.get("type") != "date":
            bad((*where, "save_as"), "only a date question can save_as a contact date")
        elif not DATE_NAME.match(str(q["save_as"] or "")):
            bad((*where, "save_as"), "a short lower_case name for the date, e.g. siembra")
    if "expect" in q and (q.get("type") != "date" or q["expect"] not in ("past", "future")):
        bad((*where, "expect"), "only on a date question, past or future")


def load(session: Session, path: Path | str, now: datetime,
         dated: date | None = None) -> tuple[Survey, str]:
    """Validate a file and insert or update its survey by slug; return (survey, what happened).

    `dated` replaces the file's `date` (the demo dates its sample surveys on the day it loads).
    """
    data = read_file(path)
    questions = [{**q, "options": [{**o, "value": str(o["value"]).lower()} for o in q["options"]]}
                 if q["type"] == "choice" else dict(q) for q in data["questions"]]
    fields = dict(title=str(data["title"])[:120],
                  source=f"{data['source']} ({data['owner']})"[:200], source_date=dated or data["date"],
                  questions=questions, texts={"intro": data["intro"], "thanks": data.get("thanks") or {}},
                  reminder_after_hours=data.get("reminder_after_hours", 48),
                  closes_after_days=data.get("closes_after_days", 14))
    found = session.scalar(select(Survey).where(Survey.slug == data["slug"]))
    if found is None:
        found = Survey(slug=data["slug"], status="draft", segment={}, created_at=now, **fields)
        session.add(found)
        session.flush()
        return found, "created"
    if found.questions != questions and found.status != "draft":
        raise SurveyError(f"survey {found.slug} is {found.status}: its questions cannot change "
                          "(load it under a new slug)")
    changed = any(getattr(found, k) != v for k, v in fields.items())
    for k, v in fields.items():
        setattr(found, k, v)
    return found, "updated" if changed else "unchanged"


def get(session: Session, slug: str) -> Survey:
    """Return the survey `slug` or raise SurveyError."""
    found = session.scalar(select(Survey).where(Survey.slug == slug))
    if found is None:
        raise SurveyError(f"no survey {slug!r} (see `survey list`, or `survey load FILE.yml`)")
    return found


def newest(session: Session) -> list[Survey]:
    """Return every survey, newest first."""
    return session.scalars(select(Survey).order_by(Survey.id.desc())).all()


def participant_count(session: Session, s: Survey) -> int:
    """Return how many contacts were invited to survey `s`."""
    return session.scalar(select(func.count()).select_from(SurveyParticipant)
                          .where(SurveyParticipant.survey_id == s.id))


# ---- sending ----
def safe_conditions(now: datetime) -> list:
    """Return the conditions that keep surveys away from anyone near a conversation about violence."""
    in_support = select(ConversationState.contact_id).where(in_open_support(now))
    violence = select(Message.contact_id).where(Message.redacted.is_(True),
                                                Message.created_at >= now - VIOLENCE_LOOKBACK)
    return [Contact.id.not_in(in_support), Contact.id.not_in(violence)]


def audience(session: Session, segment: dict, now: datetime) -> list[Contact]:
    """Return the contacts of `segment` that a survey may reach."""
    conditions, _channel = segment_conditions(segment, now)
    return list(session.scalars(select(Contact).where(*conditions, *safe_conditions(now))
                                .order_by(Contact.id)))


def send(session: Session, s: Survey, segment: dict, now: datetime, progress=None) -> dict:
    """Invite the segment: participants and their first question, in the caller's transaction.

    Two INSERT ... SELECT ... ON CONFLICT DO NOTHING statements (participants, then
    the outbox rows of those just invited), as broadcasts do: the database builds
    the rows, and a second send to the same people adds nothing.
    """
    if s.status == "closed" or (s.closes_at and s.closes_at <= now):
        raise SurveyError(f"survey {s.slug} is closed")
    segment = {k: v for k, v in (segment or {}).items() if v not in (None, [], "")}
    if set(segment) - SEGMENT_KEYS:
        raise SurveyError(f"unknown segment keys {sorted(set(segment) - SEGMENT_KEYS)}")
    if s.status == "draft":
        s.status, s.sent_at = "sending", now
        s.closes_at = now + timedelta(days=s.closes_after_days)
    s.segment = segment
    conditions, _channel = segment_conditions(segment, now)
    conditions += safe_conditions(now)
    recipients = session.scalar(select(func.count()).select_from(Contact).where(*conditions))
    # WhatsApp only inside the 24-hour window (surveys have no approved template), else SMS.
    whatsapp = and_(uses_channel("whatsapp"),
                    Contact.last_whatsapp_inbound_at > now - WHATSAPP_WINDOW)
    insert = dialect_insert(session)
    people = {"survey_id": literal(s.id, Integer), "contact_id": Contact.id,
              "status": literal("invited", String),
              "channel": case((whatsapp, "whatsapp"), else_="sms"),
              "question_index": literal(0, Integer), "invalid_count": literal(0, Integer),
              "invited_at": literal(now, UTCDateTime())}
    invited = len(session.execute(
        insert(SurveyParticipant).from_select(list(people), select(*people.values()).where(*conditions))
        .on_conflict_do_nothing(index_elements=["survey_id", "contact_id"])
        .returning(SurveyParticipant.id)).all())
    bodies = {lang: flow.invitation(s.text_for("intro", lang), s.questions, lang) for lang in LANGUAGES}
    rows = {
        "key": (literal(f"survey:{s.id}:contact:", String) + cast(Contact.id, String)
                + literal(":invite", String)),
        "source": literal("survey", String), "contact_id": Contact.id,
        "channel": SurveyParticipant.channel,
        "body": case(bodies, value=Contact.language, else_=bodies["es"]),
        "topic": literal(check_topic("survey") or "survey", String),
        "urgent": literal(False, Boolean), "status": literal("queued", String),
        "attempts": literal(0, Integer), "not_after": literal(s.closes_at, UTCDateTime()),
        "next_attempt_at": literal(first_attempt_at(now, False), UTCDateTime()),
        "created_at": literal(now, UTCDateTime()), "updated_at": literal(now, UTCDateTime()),
    }
    just_invited = (select(*rows.values()).join(Contact, Contact.id == SurveyParticipant.contact_id)
                    .where(SurveyParticipant.survey_id == s.id, SurveyParticipant.invited_at == now))
    queued = len(session.execute(
        insert(OutboxMessage).from_select(list(rows), just_invited)
        .on_conflict_do_nothing(index_elements=["key"]).returning(OutboxMessage.id)).all())
    if progress:
        progress(recipients)
    return {"recipients": recipients, "invited": invited, "already_invited": recipients - invited,
            "queued": queued}


# ---- answers (the engine calls these inside the turn's transaction) ----
def has_open_turn():
    """Return the SQL condition "the contact may have an open survey question" (for Contact rows).

    The engine reads it with the contact, so that open_turn runs only when it can find something.
    """
    return (select(SurveyParticipant.id).join(Survey, Survey.id == SurveyParticipant.survey_id)
            .where(SurveyParticipant.contact_id == Contact.id, SurveyParticipant.status.in_(OPEN),
                   Survey.status == "sending").exists())


def open_turn(session: Session, contact: Contact, now: datetime,
              flow_asked_at: datetime | None = None) -> flow.SurveyTurn | None:
    """Return the contact's open survey question, newest survey first, or None.

    `flow_asked_at` is when another open conversation last asked something: if
    that is newer than the survey's last message, the survey is not "fresh".
    """
    found = session.execute(
        select(SurveyParticipant, Survey).join(Survey, Survey.id == SurveyParticipant.survey_id)
        .where(SurveyParticipant.contact_id == contact.id, SurveyParticipant.status.in_(OPEN),
               Survey.status == "sending")
        .order_by(SurveyParticipant.invited_at.desc(), SurveyParticipant.id.desc())).first()
    if found is None:
        return None
    p, s = found
    if (s.closes_at and s.closes_at <= now) or p.question_index >= len(s.questions):
        return None
    lang = contact.language or "es"
    asked = max(x for x in (p.invited_at, p.reminded_at, p.last_answer_at) if x is not None)
    fresh = now - asked <= ANSWER_WINDOW and not (flow_asked_at and flow_asked_at > asked)
    return flow.SurveyTurn(p.id, s.slug, tuple(s.questions), p.question_index, p.invalid_count,
                           s.text_for("thanks", lang) or t("survey_thanks", lang), fresh)


def record_answer(session: Session, contact_id: int, values: dict, now: datetime) -> None:
    """Apply a survey effect: store the answer, move to the next question or finish."""
    p = session.get(SurveyParticipant, values["participant_id"])
    if p is None or p.contact_id != contact_id or p.status not in OPEN:
        return
    p.last_answer_at = now  # the survey's last message to the contact (next question, re-ask)
    answer = values.get("answer")
    if answer:
        row = session.scalar(select(SurveyAnswer).where(SurveyAnswer.participant_id == p.id,
                                                        SurveyAnswer.question_key == answer["key"]))
        if row is None:
            row = SurveyAnswer(participant_id=p.id, question_key=answer["key"])
            session.add(row)
        row.value, row.raw, row.skipped, row.answered_at = (
            answer["value"], answer["raw"], answer["skipped"], now)
        if answer.get("save_as") and answer["value"]:
            _save_date(session, contact_id, answer["save_as"], answer["value"])
    p.question_index = values["index"]
    p.invalid_count = p.invalid_count + 1 if values["invalid"] else 0
    p.status = values["status"]
    if p.status not in OPEN:
        p.finished_at = now


def _save_date(session: Session, contact_id: int, name: str, iso: str) -> None:
    """Store a date answer in the contact's profile["dates"] (reminders read it there)."""
    contact = session.get(Contact, contact_id)
    try:
        set_contact_date(session, contact, name, date.fromisoformat(iso))
    except ReminderError:  # no consent (participants have it) or a bad name: keep the answer only
        pass


def end_open(session: Session, contact_id: int, status: str, now: datetime) -> int:
    """End every open participation of a contact (STOP: stopped; violence: left).

    Survey messages of that contact still waiting in the outbox (held by quiet
    hours, say) are canceled too: nothing about a survey follows.
    """
    cancel_queued(session, now, f"survey participation {status}", contact_id=contact_id,
                  source="survey")
    result = session.execute(
        update(SurveyParticipant).where(SurveyParticipant.contact_id == contact_id,
                                        SurveyParticipant.status.in_(OPEN))
        .values(status=status, finished_at=now).execution_options(synchronize_session=False))
    return result.rowcount or 0


# ---- the scheduler's job ----
def send_survey_reminders(session: Session, now: datetime) -> dict:
    """Expire what is past closes_at, then remind once each invited contact who has not answered."""
    counts = {"closed": 0, "expired": 0, "reminded": 0}
    for s in session.scalars(select(Survey).where(Survey.status == "sending")).all():
        if s.closes_at and s.closes_at <= now:
            counts["expired"] += expire(session, s, now)
            counts["closed"] += 1
            continue
        due = session.execute(
            select(SurveyParticipant, Contact).join(Contact, Contact.id == SurveyParticipant.contact_id)
            .where(SurveyParticipant.survey_id == s.id, SurveyParticipant.status == "invited",
                   SurveyParticipant.reminded_at.is_(None),
                   SurveyParticipant.invited_at <= now - timedelta(hours=s.reminder_after_hours),
                   *reachable(), *safe_conditions(now))).all()
        rows = []
        for p, contact in due:
            p.reminded_at = now
            lang = contact.language or "es"
            body = (f"{t('survey_reminder', lang)}\n"
                    f"{flow.invitation(s.text_for('intro', lang), s.questions, lang)}")
            rows.append(dict(key=f"survey:{s.id}:contact:{contact.id}:reminder", source="survey",
                             contact_id=contact.id, channel=p.channel, topic="survey", body=body,
                             not_after=s.closes_at))
        counts["reminded"] += enqueue_many(session, rows, now)
    return counts


def expire(session: Session, s: Survey, now: datetime) -> int:
    """Close the survey and mark its still-open participations expired; return how many."""
    result = session.execute(
        update(SurveyParticipant).where(SurveyParticipant.survey_id == s.id,
                                        SurveyParticipant.status.in_(OPEN))
        .values(status="expired", finished_at=now).execution_options(synchronize_session=False))
    s.status, s.closed_at = "closed", now
    return result.rowcount or 0
