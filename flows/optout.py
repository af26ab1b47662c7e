"""Opt-out and opt-in: STOP works in any flow, at any step, in es, qu and en."""
from __future__ import annotations

from flows.base import Ctx, Effect, Result, State
from flows.catalog import t
from flows.menu import with_menu
from flows.options import numbered

FLOW = "optout"


def stop(ctx: Ctx) -> Result:
    """Record the opt-out and confirm it."""
    return Result([t("opt_out_done", ctx.lang)], FLOW, effects=[Effect("opt_out")])


def ask_confirmation(ctx: Ctx) -> Result:
    """Ask before opting out when only the model (not a keyword) heard a stop."""
    return Result([numbered(t("opt_out_confirm", ctx.lang), 2)], FLOW, State(FLOW, "confirm"))


def step(ctx: Ctx) -> Result | None:
    """Handle the answer to the confirmation question."""
    if ctx.answer in {"1", "si", "sí", "ari"} or ctx.parse.intent == "affirm":
        return stop(ctx)
    if ctx.answer in {"2", "no", "manam", "mana"} or ctx.parse.intent == "deny":
        return Result([t("opt_out_kept", ctx.lang)], FLOW)
    return None


def resume(ctx: Ctx) -> Result:
    """Record the opt-in and welcome the contact back."""
    return Result([with_menu(ctx, "opt_in_done")], FLOW, effects=[Effect("opt_in")])


def stopped(ctx: Ctx) -> Result:
    """Answer a stopped contact with the way back, and nothing else."""
    return Result([t("stopped_reminder", ctx.lang)], FLOW)
