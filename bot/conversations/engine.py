"""Turn one inbound message into replies: contact, dedupe, NLU, flow, persistence.

Plain Python with no Flask: the webhook, the `chat` command and tests call
`Engine.handle` directly.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

import flows
from bot.surveys import service as surveys
from bot.outbound import policy
from bot.privacy import contacts as stored, erasure, suppression
from bot.translations import store as texts
from bot.db import Database
from bot.conversations.facts import Facts
from bot.topics import unanswered
from bot.topics.store import PublishedCache, revision_column
from bot import channels
from flows.gsm7 import segment_count
from bot.channels.phones import InvalidPhone, country, mask, split_address, to_e164
from flows import media, privacy, support
from flows.location import SharedLocation
from flows.base import ContactView, Ctx, Result, State
from flows.catalog import consent_version, t
from models import Contact, ConversationState, HandoffRequest, Message, Subscription, utcnow
from models.marks import is_demo
from nlu.classifier import Parse

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Inbound:
    """One message as a channel received it."""

    address: str  # Twilio `From`: "+51..." or "whatsapp:+51..."
    body: str = ""
    sid: str | None = None
    num_media: int = 0
    channel: str | None = None  # forced channel (the chat command); else from the address
    media: tuple = ()  # (Twilio media URL, content type) pairs, as the webhook read them
    location: tuple | None = None  # WhatsApp location: (latitude, longitude, address, label)


@dataclass
class Outcome:
    """The replies to send back, already rewritten for the channel."""

    replies: list[str]
    duplicate: bool = False
    contact_id: int | None = None
    flow: str | None = None
    segments: list[int] = field(default_factory=list)
    by_rest: bool = False  # WhatsApp buttons or a list: sent through the outbox, TwiML empty


def _shared(location: tuple | None) -> SharedLocation | None:
    """Return the location of the turn as flows read it."""
    return SharedLocation(*location) if location else None


# The turn's statements, built once (building one costs more than running it on SQLite).
# Its first read: the contact, her conversation state, whether a survey may await an answer,
# and the counters of the texts and the knowledge base saved in the console.
TURN_READ = (select(Contact, ConversationState, surveys.has_open_turn(), texts.version_column(),
                    revision_column())
             .outerjoin(ConversationState, ConversationState.contact_id == Contact.id)
             .where(Contact.phone == bindparam("phone")))
COUNTERS = select(texts.version_column(), revision_column())  # a first message: no contact row
MESSAGES = Message.__table__
# The inbound row: a repeated MessageSid inserts nothing (the dedupe check rides on the INSERT).
INSERT_INBOUND = {name: insert(MESSAGES).on_conflict_do_nothing(index_elements=["twilio_sid"])
                  .returning(MESSAGES.c.id)
                  for name, insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))}
INSERT_REPLIES = MESSAGES.insert()
CONTACTS = Contact.__table__
TOUCH_CONTACT = (CONTACTS.update().where(CONTACTS.c.id == bindparam("b_id"))  # see _touched
                 .values({c: bindparam(f"b_{c}")
                          for c in ("last_inbound_at", "channels", "last_whatsapp_inbound_at")}))


def render(text: str, channel: str) -> str:
    """Return `text` as it goes out on `channel`: GSM-7 for SMS, Unicode elsewhere."""
    return channels.get(channel).render(text)


class Engine:
    """Answer inbound messages, one database transaction per message."""

    def __init__(self, db: Database, classifier, *, max_chars: int = 1600,
                 conversation_ttl: timedelta = timedelta(hours=1), countries: tuple = ("PE",),
                 suppression_key: str = "chaski-development", interactive=None):
        self.db = db
        self.classifier = classifier
        self.max_chars = max_chars
        self.conversation_ttl = conversation_ttl
        self.countries = countries
        self.suppression_key = suppression_key  # HMAC key of erased numbers that said STOP
        self.topics = PublishedCache()  # this worker's published knowledge base
        self.interactive = interactive  # bot.channels.interactive.Interactive (channels.init_app)

    def handle(self, inbound: Inbound, now: datetime | None = None) -> Outcome:
        """Return the replies to `inbound`; never raises, always answers something."""
        now = now or utcnow()
        channel, number = split_address(inbound.address)
        channel = inbound.channel or channel
        try:
            phone = to_e164(number)
        except InvalidPhone:
            log.warning("inbound from an unreadable number: answered, nothing stored")
            return self._outcome([t("foreign_number")], channel)
        if country(phone) not in self.countries:  # the service is for these countries only
            log.info("inbound from a number of %s: answered, nothing stored", country(phone))
            return self._outcome([t("foreign_number")], channel)
        body, truncated = self._cut(inbound.body or "", inbound.sid)
        parse = self._classify(body, inbound.num_media or (inbound.location is not None))
        for attempt in (1, 2):
            try:
                with self.db.session() as session:
                    return self._turn(session, phone, channel, inbound, body, truncated, parse, now)
            except IntegrityError:
                # A concurrent request created the same contact first: the second try finds it.
                if attempt == 2:
                    log.exception("could not store message from %s", mask(phone))
            except Exception:  # noqa: BLE001 - every failure still answers the user
                log.exception("failed to handle message %s from %s", inbound.sid, mask(phone))
                break
        fallback = support.emergency_text() if parse.intent == "gbv_support" else t("error")
        return self._outcome([fallback], channel)

    @staticmethod
    def _use_texts(session: Session, version: int | None) -> None:
        """Use the texts saved in the console at once (read with the turn's first statement)."""
        if texts.is_loaded(version):
            return
        try:
            with session.begin_nested():  # a failed reload must not spoil the turn's transaction
                texts.use_version(session, version)
        except Exception:  # noqa: BLE001 - the shipped texts still answer
            log.exception("could not reload the texts saved in the console")

    def _cut(self, body: str, sid: str | None) -> tuple[str, bool]:
        if len(body) <= self.max_chars:
            return body, False
        log.warning("message %s is %d characters long: cut to %d", sid, len(body), self.max_chars)
        return body[: self.max_chars], True

    def _classify(self, body: str, num_media: int) -> Parse:
        if not body.strip() and num_media:
            return Parse(body, "out_of_scope", 1.0, source="media")
        try:
            return self.classifier.classify(body)
        except Exception:  # noqa: BLE001 - the rules and menus must still work
            log.exception("classifier failed")
            return Parse(body, "out_of_scope", 0.0, source="unavailable")

    @staticmethod
    def _stored_reply(session: Session, sid: str, channel: str) -> Outcome:
        """Return the replies already given to inbound message `sid` (a duplicate)."""
        inbound = session.execute(select(Message.id, Message.contact_id, Message.flow)
                                  .where(Message.twilio_sid == sid)).one()
        replies = session.scalars(
            select(Message.body).where(Message.reply_to_id == inbound.id).order_by(Message.id)).all()
        log.info("duplicate MessageSid %s: answering with the stored reply", sid)
        # A redacted reply (support conversation) is not kept: repeat the numbers instead.
        replies = [r if r is not None else render(support.emergency_text(), channel) for r in replies]
        return Outcome(replies, duplicate=True, contact_id=inbound.contact_id,
                       flow=inbound.flow, segments=[segment_count(r) for r in replies])

    def _turn(self, session: Session, phone: str, channel: str, inbound: Inbound,
              body: str, truncated: bool, parse: Parse, now: datetime) -> Outcome:
        """Read what the turn needs, answer, then write it all: the turn's one transaction.

        Reads come first and every write last, so that SQLite's write lock is held only
        for the few statements at the end. The first write is the inbound row, INSERT ...
        ON CONFLICT (twilio_sid) DO NOTHING: a repeated MessageSid inserts nothing, the
        turn is rolled back and the stored reply is answered (the dedupe check).
        """
        found = session.execute(TURN_READ, {"phone": phone}).first()
        if found:
            contact, state_row, in_survey, texts_version, kb_revision = found
        else:
            contact, state_row, in_survey = None, None, False
            texts_version, kb_revision = session.execute(COUNTERS).one()
        self._use_texts(session, texts_version)
        is_new = contact is None
        if is_new:
            contact = Contact(phone=phone, channels=[], created_at=now, language="es",
                              profile={"demo": True} if is_demo(session) else {})
            if policy.suppressed(session, phone, self.suppression_key):
                contact.opted_out_at = now  # erased after STOP: STOP still holds
        expired = state_row is not None and state_row.expires_at <= now
        live_row = None if expired else state_row
        state = State(live_row.flow, live_row.step, live_row.data) if live_row else None
        in_support = state is not None and state.flow == support.FLOW  # its media is never used

        ctx = Ctx(self._view(contact, is_new, now), channel, body, parse, state, now,
                  facts=Facts(session, now, exercises=contact.is_demo),
                  kb=self.topics.current(session, kb_revision),
                  survey=None if not in_survey else surveys.open_turn(
                      session, contact, now, live_row.updated_at if live_row else None),
                  stored_data=lambda: stored.summary(session, contact),
                  location=None if in_support else _shared(inbound.location),
                  media=() if in_support else tuple(inbound.media))
        result = self._respond(ctx)
        replies = [render(text, channel) for text in result.replies]
        rest = self._rest_plan(session, contact, channel, inbound, result, replies, ctx.lang, now)

        # ---- writes: everything below is one short burst before the commit ----
        if is_new:
            self._touch(contact, channel, now)
            session.add(contact)
            session.flush()  # a concurrent first message from her: IntegrityError, tried again
        message_id = self._record_inbound(session, contact, channel, inbound, body, truncated,
                                          parse, result, now)
        if message_id is None:  # this MessageSid was stored before: change nothing
            session.rollback()
            return self._stored_reply(session, inbound.sid, channel)
        if not is_new:
            self._touch_stored(session, contact, channel, now)
        self._apply(session, contact, message_id, channel, result, now)
        kinds = {effect.kind for effect in result.effects}
        if "opt_in" in kinds:  # her own ALTA lifts the suppression of an earlier erasure
            suppression.lift(session, contact.phone, self.suppression_key)
        if "erase" in kinds:
            erasure.erase(session, contact, now, self.suppression_key)  # her words go too
            return self._outcome(result.replies, channel)
        if result.sensitive:  # no survey question ever follows a conversation about violence
            surveys.end_open(session, contact.id, "left", now)
        self._save_state(session, contact, state_row, result.state, now)  # an expired row is reused
        private = result.sensitive  # replies can reveal what was asked (a place, a centre)
        if replies:
            session.connection().execute(INSERT_REPLIES, [
                dict(contact_id=contact.id, direction="out", channel=channel,
                     body=None if private else text, redacted=private, status="replied",
                     segments=segment_count(text), flow=result.flow, reply_to_id=message_id,
                     entities={}, created_at=now, updated_at=now) for text in replies])
        if rest is not None:
            self.interactive.write(session, rest, contact.id, inbound.sid, private, now)
        return Outcome([] if rest else replies, contact_id=contact.id, flow=result.flow,
                       segments=[segment_count(r) for r in replies], by_rest=rest is not None)

    def _rest_plan(self, session, contact, channel, inbound, result, replies, lang, now):
        """Return how this turn's choices go as WhatsApp buttons or a list (None: TwiML)."""
        stops = contact.opted_out_at is not None or any(
            e.kind in ("opt_out", "erase") for e in result.effects)
        if self.interactive is None or not inbound.sid or stops:
            return None
        return self.interactive.prepare(session, channel, result.replies, replies, lang, now)

    @staticmethod
    def _touched(contact: Contact, channel: str, now: datetime) -> dict:
        """Return what a message from her on `channel` now records on her contact row."""
        return {"last_inbound_at": now, "channels": contact.channels_with(channel),
                "last_whatsapp_inbound_at": now if channel == "whatsapp"
                else contact.last_whatsapp_inbound_at}

    @staticmethod
    def _touch(contact: Contact, channel: str, now: datetime) -> None:
        """Record that a new contact wrote to us on `channel` now (stored with her row)."""
        for key, value in Engine._touched(contact, channel, now).items():
            setattr(contact, key, value)

    @staticmethod
    def _touch_stored(session: Session, contact: Contact, channel: str, now: datetime) -> None:
        """Record it for a stored contact with one prebuilt UPDATE (no ORM flush for it)."""
        values = Engine._touched(contact, channel, now)
        session.connection().execute(TOUCH_CONTACT, {"b_id": contact.id} | {
            f"b_{key}": value for key, value in values.items()})
        for key, value in values.items():
            set_committed_value(contact, key, value)  # as stored: effects may change more

    @staticmethod
    def _view(contact: Contact, is_new: bool, now: datetime) -> ContactView:
        return ContactView(language=contact.language or "es", region=contact.region,
                           province=contact.province, has_consent=contact.has_consent,
                           opted_out=contact.opted_out, is_new=is_new,
                           feedback_due=unanswered.feedback_due(contact, now),
                           latitude=contact.latitude, longitude=contact.longitude)

    @staticmethod
    def _respond(ctx: Ctx) -> Result:
        return media.dispatch(ctx) or flows.respond(ctx)

    @staticmethod
    def _record_inbound(session, contact, channel, inbound, body, truncated, parse, result,
                        now) -> int | None:
        """Insert the inbound row; return its id, or None when its MessageSid is stored already."""
        sensitive = result.sensitive  # decided by flows.router.respond, the one place
        row = dict(
            contact_id=contact.id, direction="in", channel=channel, twilio_sid=inbound.sid,
            body=None if sensitive else body, redacted=sensitive, status="received",
            num_media=inbound.num_media, truncated=truncated, intent=parse.intent,
            confidence=parse.confidence, entities={} if sensitive else parse.entities,
            nlu_source=parse.source, flow=result.flow, created_at=now, updated_at=now,
        )
        connection = session.connection()
        return connection.execute(INSERT_INBOUND[connection.dialect.name], row).scalar()

    @staticmethod
    def _apply(session: Session, contact: Contact, message_id: int, channel: str, result: Result,
               now) -> None:
        for effect in result.effects:
            if effect.kind == "erase":
                continue  # done last, by _turn
            if effect.kind == "opt_out":
                contact.opted_out_at = now
                surveys.end_open(session, contact.id, "stopped", now)
            elif effect.kind == "opt_in":
                contact.opted_out_at = None
            elif effect.kind == "consent":
                contact.consent_at, contact.consent_channel = now, channel
                contact.consent_version = consent_version()
            elif effect.kind == "set_profile":
                for key in ("language", "region", "province", "latitude", "longitude"):
                    if key in effect.values:
                        setattr(contact, key, effect.values[key])
                if "latitude" in effect.values:
                    contact.located_at = now
            elif effect.kind == "subscribe":
                Engine._subscribe(session, contact, effect.values, now)
            elif effect.kind == "survey":
                surveys.record_answer(session, contact.id, effect.values, now)
            elif effect.kind == "handoff":
                session.add(HandoffRequest(contact_id=contact.id, message_id=message_id,
                                           urgent=effect.values.get("urgent", False),
                                           topic=effect.values.get("topic"), created_at=now,
                                           media=list(effect.values.get("media") or [])))
            elif effect.kind in unanswered.EFFECTS:
                unanswered.apply(session, contact, message_id, result.sensitive, effect, now)
            else:
                raise ValueError(f"unknown effect {effect.kind!r}")

    @staticmethod
    def _subscribe(session: Session, contact: Contact, values: dict, now) -> None:
        """Record (or reactivate) a subscription; never without consent."""
        if contact.consent_at is None:
            log.warning("subscription without consent ignored for contact %s", contact.id)
            return
        what = {k: values.get(k) or "" for k in ("kind", "product", "hazard", "region")}
        row = session.scalar(select(Subscription).filter_by(contact_id=contact.id, **what))
        if row is None:
            session.add(Subscription(contact_id=contact.id, created_at=now, **what))
        elif row.status != "active":
            row.status, row.cancelled_at = "active", None

    def _save_state(self, session, contact, row, state: State | None, now) -> None:
        stopped = contact.opted_out_at is not None and (
            state is None or state.flow not in (support.FLOW, privacy.FLOW))
        if stopped or state is None:
            if row is not None:
                session.delete(row)
            return
        expires = now + self.conversation_ttl
        if row is None:
            session.add(ConversationState(contact_id=contact.id, flow=state.flow, step=state.step,
                                          data=state.data, expires_at=expires, updated_at=now))
        else:
            row.flow, row.step, row.data, row.expires_at = state.flow, state.step, state.data, expires
            row.updated_at = now

    @staticmethod
    def _outcome(replies: list[str], channel: str) -> Outcome:
        rendered = [render(r, channel) for r in replies]
        return Outcome(rendered, segments=[segment_count(r) for r in rendered])
