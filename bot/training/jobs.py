"""Training's scheduled job: run the oldest queued NLU retraining (never in a web worker)."""
from __future__ import annotations

from bot.training.runs import run_queued

JOBS = {"retrain_nlu": run_queued}
