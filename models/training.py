"""Training runs: one retraining of the NLU model, asked for in the console or the CLI."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

ACTIVE_STATUSES = ("queued", "running")


class TrainingRun(Base):
    """One export + train + held-out comparison, run by the scheduler, never by the web app.

    Status::

        queued ──(scheduler job claims it, commits)──▶ running ──┬─▶ kept_new  (new ≥ old)
          ▲                                                      ├─▶ kept_old  (new < old:
          │                                                      │              data put back)
        console button / `retrain-nlu --queue`                   ├─▶ unchanged (nothing new)
                                                                 └─▶ failed    (error, or no
                                                                     heartbeat for STALE_AFTER)

    `retrain-nlu` without --queue adds its run as `running` and runs it itself.
    At most one run is queued or running at a time (`active_slot`). `heartbeat_at`
    moves with the log; `log_tail` keeps the last lines of the training's output.
    """

    __tablename__ = "training_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(12), default="queued", index=True)
    # True while queued or running, NULL once finished: the unique constraint lets the
    # database refuse a second active run even when two clicks race.
    active_slot: Mapped[bool | None] = mapped_column(unique=True)
    requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    requested_by: Mapped[str] = mapped_column(String(254))  # e-mail, or "cli"
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    worker: Mapped[str | None] = mapped_column(String(80))  # host:pid that claimed it
    old_model: Mapped[str | None] = mapped_column(String(80))
    new_model: Mapped[str | None] = mapped_column(String(80))
    old_accuracy: Mapped[float | None]
    new_accuracy: Mapped[float | None]
    examples: Mapped[int | None]  # reviewed examples exported
    by_intent: Mapped[dict] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(String(500))
    # {"reviewed.yml": its text before the run, or None if absent}: a run killed between
    # export and verdict gets the training data put back when it is failed.
    data_before: Mapped[dict] = mapped_column(default=dict)
    log_tail: Mapped[str] = mapped_column(Text, default="")

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def __repr__(self) -> str:
        return f"<TrainingRun {self.id} {self.status}>"
