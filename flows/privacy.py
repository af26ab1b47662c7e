"""Her rights over her data: MIS DATOS says what is stored, BORRAR erases after a yes.

    (MIS DATOS) ──▶ summary, flow ends
    (BORRAR) ──▶ confirm ──(1 Sí)──▶ erased (effect "erase"; she is a stranger after it)
                    └──(2 No)──▶ kept
"""
from __future__ import annotations

from flows.base import Ctx, Effect, Result, State
from flows.catalog import language_name, t
from flows.onboarding import REGION_NAMES
from flows.options import numbered

FLOW = "privacy"
YES = {"1", "si", "sí", "ari", "jisa", "yes"}
NO = {"2", "no", "manam", "mana", "janiwa"}
MAX_SUBSCRIPTIONS = 3  # more are counted, not listed (one or two SMS)


def access(ctx: Ctx) -> Result:
    """Tell her what is stored about her (never anything from a support conversation)."""
    stored = ctx.stored_data() if ctx.stored_data else None
    if not stored:
        return Result([t("data_none", ctx.lang)], FLOW)
    lang = ctx.lang
    none = t("data_nothing", lang)
    subs = stored["subscriptions"]
    listed = ", ".join(subs[:MAX_SUBSCRIPTIONS]) + (f" (+{len(subs) - MAX_SUBSCRIPTIONS})"
                                                    if len(subs) > MAX_SUBSCRIPTIONS else "")
    place = ", ".join(p for p in (stored.get("province"), REGION_NAMES.get(stored.get("region"),
                                                                         stored.get("region"))) if p)
    if stored.get("located"):  # a shared WhatsApp location is kept too (flows/location.py)
        place = f"{place}; {t('data_location', lang)}" if place else t("data_location", lang)
    consent = stored["consent_at"]
    text = t("data_summary", lang, lang_name=language_name(stored["language"]),
             place=place or none, channels=", ".join(c.upper() if c == "sms" else "WhatsApp"
                                                    for c in stored["channels"]) or none,
             subscriptions=listed or none,
             consent=consent.strftime("%d/%m/%Y") if consent else none,
             messages=stored["messages"])
    return Result([text], FLOW)


def ask_erase(ctx: Ctx) -> Result:
    """Ask before erasing: 1 Sí 2 No."""
    return Result([numbered(t("erase_confirm", ctx.lang), 2)], FLOW, State(FLOW, "confirm_erase"))


def step(ctx: Ctx) -> Result | None:
    """Take the answer to the erasure question; anything else leaves the question."""
    if ctx.state.step != "confirm_erase":
        return None
    if ctx.answer in YES or ctx.parse.intent == "affirm":
        done = "erase_done_stopped" if ctx.contact.opted_out else "erase_done"
        return Result([t(done, ctx.lang)], FLOW, effects=[Effect("erase")])
    if ctx.answer in NO or ctx.parse.intent == "deny":
        return Result([t("erase_kept", ctx.lang)], FLOW)
    return None
