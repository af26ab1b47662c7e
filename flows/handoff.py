"""Record a request to talk to a person, for staff to answer."""
from __future__ import annotations

from flows.base import Ctx, Effect, Result
from flows.catalog import t
from flows.directory import support_numbers


def request(ctx: Ctx, urgent: bool = False, topic: str | None = None) -> Result:
    text = t("handoff_urgent_done", ctx.lang, **support_numbers()) if urgent else t(
        "handoff_done", ctx.lang)
    effect = Effect("handoff", {"urgent": urgent, "topic": topic})
    return Result([text], "handoff", effects=[effect], sensitive=topic == "support")
