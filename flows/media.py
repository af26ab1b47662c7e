"""Photos, voice notes, videos, contacts and locations sent on WhatsApp: the reply each gets.

Nothing here reads the media: a photo or a voice note is offered to a person of
the technical team (a hand-off with topic "technician" that keeps only Twilio's
media references)::

    photo/audio ──▶ "offer": 1 Sí ──▶ hand-off (technician, with the references)
                             2 No ──▶ done, nothing kept

Inside a support conversation (violence) nothing is offered or kept: the
conversation goes on and the engine never hands its media to a flow.
"""
from __future__ import annotations

from flows import location, menu, onboarding, support
from flows.base import Ctx, Effect, Result, State
from flows.catalog import t
from flows.options import numbered
from nlu.rules import normalise

FLOW = "media"
TOPIC = "technician"
MAX_KEPT = 5  # media references kept per hand-off
YES, NO = location.YES, location.NO


def kind(content_type: str) -> str:
    """Return photo, audio, video, contact or file for a MIME type."""
    value = (content_type or "").lower().split(";")[0].strip()
    if value.startswith("image/"):
        return "photo"
    if value.startswith("audio/"):
        return "audio"
    if value.startswith("video/"):
        return "video"
    if value in {"text/vcard", "text/x-vcard", "text/directory"}:
        return "contact"
    return "file"


def dispatch(ctx: Ctx) -> Result | None:
    """Answer a turn that carried media or a location; None when the usual flows answer it."""
    if ctx.contact.opted_out:
        return None
    in_support = ctx.state is not None and ctx.state.flow == support.FLOW
    if in_support:  # her media and location are neither kept nor offered: the conversation goes on
        return support.step(ctx) if ctx.parse.source == "media" else None
    if ctx.location is not None:
        if ctx.state and ctx.state.flow == onboarding.FLOW and ctx.state.step == "region":
            return None  # onboarding's region question takes it
        return location.receive(ctx)
    if ctx.media:
        return receive(ctx)
    if ctx.parse.source == "media":
        return menu.media_only(ctx)  # media whose reference we could not read
    return None


def receive(ctx: Ctx) -> Result:
    """Offer a person for a photo or a voice note; say what happens to anything else."""
    refs = [{"url": url, "content_type": ctype} for url, ctype in ctx.media
            if kind(ctype) in ("photo", "audio")]
    if refs:
        earlier = ctx.state.data.get("media", []) if ctx.state and ctx.state.flow == FLOW else []
        kept = [*earlier, *refs][:MAX_KEPT]
        lead = "media_offer_audio" if kind(refs[0]["content_type"]) == "audio" else "media_offer_photo"
        return Result([numbered(t(lead, ctx.lang), 2)], FLOW, State(FLOW, "offer", {"media": kept}))
    kinds = {kind(ctype) for _url, ctype in ctx.media}
    key = "media_video" if "video" in kinds else "media_vcard" if "contact" in kinds else "media_other"
    return Result([t(key, ctx.lang)], FLOW)


def step(ctx: Ctx) -> Result | None:
    """Open the technician hand-off on yes; drop the references on no."""
    answer = normalise(ctx.text)
    if answer in YES or ctx.parse.intent in {"affirm", "human_handoff"}:
        effect = Effect("handoff", {"urgent": False, "topic": TOPIC,
                                    "media": ctx.state.data.get("media", [])})
        return Result([t("media_handoff_done", ctx.lang)], "handoff", effects=[effect])
    if answer in NO or ctx.parse.intent == "deny":
        return Result([t("media_declined", ctx.lang)], FLOW)
    return None
