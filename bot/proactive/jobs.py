"""Proactive messages' scheduled jobs: each takes its session and `now` and returns counts.

They only write outbox rows; the sender process sends them.
"""
from __future__ import annotations

from bot.proactive.broadcasts import send_due_broadcasts
from bot.proactive.digests import send_calendar_tips, send_price_digest
from bot.proactive.reminders import send_due_reminders

JOBS = {"send_due_broadcasts": send_due_broadcasts, "send_price_digest": send_price_digest,
        "send_calendar_tips": send_calendar_tips, "send_due_reminders": send_due_reminders}
