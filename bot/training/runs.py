"""Queue, claim and run NLU retrainings (TrainingRun) outside the web workers.

The console button and `retrain-nlu --queue` only add a `queued` row. The
scheduler's `retrain_nlu` job (bot/training/jobs.py) fails runs whose heartbeat stopped,
claims the oldest queued run, commits `running`, and then runs
bot.training.retrain.retrain: export, train, compare on the held-out set, keep
the better model. The CLI without --queue runs one in the foreground the same way.
"""
from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.settings import from_env
from bot.training.export import DATA_DIR, EXPORT_NAME
from bot.training.retrain import Evaluate, Train, rasa_accuracy, retrain
from models import TrainingRun, utcnow
from nlu import runtime as nlu_runtime
from nlu.client import NLUUnavailable, RasaClient
from nlu.evaluate import HELDOUT_FILES

log = logging.getLogger(__name__)

# A run whose log has not moved for this long was left by a killed scheduler.
STALE_AFTER = timedelta(minutes=30)
LOG_LINES = 40
HEARTBEAT_EVERY_S = 5.0
KEPT = {"new": "kept_new", "old": "kept_old", "unchanged": "unchanged"}


class RunInProgress(RuntimeError):
    """Another retraining is already queued or running."""

    def __init__(self, run: TrainingRun):
        # Plain values: the session (and the row's object with it) is gone when this is caught.
        self.run_id, self.status, self.requested_by = run.id, run.status, run.requested_by
        super().__init__(f"retraining #{run.id} is already {run.status} "
                         f"(asked by {run.requested_by})")


def worker_name() -> str:
    """Return host:pid, recorded on the run that this process claims."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}"


def active_run(session: Session) -> TrainingRun | None:
    """Return the queued or running retraining, if any."""
    return session.scalar(select(TrainingRun).where(TrainingRun.active_slot.is_(True)))


def enqueue(session: Session, *, requested_by: str, now: datetime, user_id: int | None = None,
            start: bool = False) -> TrainingRun:
    """Add a queued run (or a running one, `start`), or raise RunInProgress."""
    current = active_run(session)
    if current is not None:
        raise RunInProgress(current)
    run = TrainingRun(status="running" if start else "queued", active_slot=True,
                      requested_by=requested_by, requested_by_id=user_id, requested_at=now,
                      by_intent={}, log_tail="")
    if start:
        run.started_at, run.heartbeat_at, run.worker = now, now, worker_name()
    session.add(run)
    try:
        session.flush()
    except IntegrityError:  # a second click won the race for the active slot
        session.rollback()
        current = active_run(session)
        if current is None:
            raise
        raise RunInProgress(current) from None
    return run


def process_gone(worker: str | None) -> bool:
    """Return whether `worker` (host:pid) is a process of this host that no longer exists."""
    host, _, pid = (worker or "").rpartition(":")
    if host != socket.gethostname()[:60] or not pid.isdigit():
        return False  # another machine's process: only its heartbeat can tell
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def fail_stale(session: Session, now: datetime, data_dir: Path = DATA_DIR) -> int:
    """Fail running runs whose process is gone or whose heartbeat stopped; return how many.

    Their exported data may still be in `data_dir`, never evaluated: it is put back.
    """
    silent = f"no sign of life for {int(STALE_AFTER.total_seconds() // 60)} min: " \
             "the scheduler was stopped during the run"
    failed = 0
    for run in session.scalars(select(TrainingRun).where(TrainingRun.status == "running")):
        if run.heartbeat_at is not None and run.heartbeat_at < now - STALE_AFTER:
            run.error = silent
        elif process_gone(run.worker):
            run.error = f"the process that ran it ({run.worker}) stopped during the run"
        else:
            continue
        run.status, run.active_slot, run.finished_at = "failed", None, now
        if EXPORT_NAME in (run.data_before or {}):
            restore_data(Path(data_dir), run.data_before[EXPORT_NAME])
        failed += 1
    session.flush()
    return failed


def restore_data(data_dir: Path, text: str | None) -> None:
    """Put reviewed.yml back as `text` (None: no file) if it differs."""
    target = data_dir / EXPORT_NAME
    current = target.read_text(encoding="utf-8") if target.exists() else None
    if current == text:
        return
    if text is None:
        target.unlink()
        return
    tmp = data_dir / f".{EXPORT_NAME}.restore"  # hidden: never read as training data
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)


def claim(session: Session, now: datetime) -> TrainingRun | None:
    """Mark the oldest queued run `running` and return it (the caller commits at once)."""
    query = (select(TrainingRun).where(TrainingRun.status == "queued")
             .order_by(TrainingRun.requested_at, TrainingRun.id).limit(1))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    run = session.scalar(query)
    if run is None:
        return None
    run.status, run.started_at, run.heartbeat_at, run.worker = "running", now, now, worker_name()
    session.flush()
    return run


@dataclass
class RunLog:
    """Keep a run's last output lines; write them, as its heartbeat, in their own commits."""

    bind: object
    run_id: int
    echo: Callable[[str], object] | None = None
    clock: Callable[[], float] = time.monotonic
    lines: list[str] = field(default_factory=list)
    last_write: float = float("-inf")

    def __call__(self, line: str) -> None:
        if self.echo:
            self.echo(line)
        self.lines = (self.lines + [str(line)[:300]])[-LOG_LINES:]
        if self.clock() - self.last_write >= HEARTBEAT_EVERY_S:
            self.flush()

    @property
    def tail(self) -> str:
        return "\n".join(self.lines)

    def flush(self) -> None:
        """Write the tail and the heartbeat now; a failure here never stops the training."""
        self.last_write = self.clock()
        try:
            with Session(bind=self.bind) as session, session.begin():
                session.execute(update(TrainingRun).where(TrainingRun.id == self.run_id)
                                .values(heartbeat_at=utcnow(), log_tail=self.tail))
        except Exception:  # noqa: BLE001 - the log is a courtesy, the training goes on
            log.warning("could not write the log of training run %s", self.run_id, exc_info=True)


def load_into_server(model: Path) -> str:
    """Make the running Rasa server (NLU_URL, NLU_TOKEN) serve `model`; return what happened."""
    if not Path(model).is_file():
        return f"{Path(model).name} is not a model file here: the NLU server was not asked"
    client = RasaClient(from_env().nlu_url)
    try:
        client.load_model(model)
    except NLUUnavailable as exc:
        return f"the running NLU server keeps its model until its next start ({exc})"
    finally:
        client.close()
    return f"the running NLU server now serves {Path(model).name}"


def execute(session: Session, run_id: int, *, train: Train | None = None,
            evaluate: Evaluate = rasa_accuracy, heldout: Path | tuple = HELDOUT_FILES,
            data_dir: Path = DATA_DIR, echo: Callable[[str], object] | None = None,
            load: Callable[[Path], str] = load_into_server) -> TrainingRun:
    """Run the claimed run `run_id` to its end and store what happened; return it.

    A kept new model is loaded into the running NLU server (`load`), without a restart.
    """
    target = Path(data_dir) / EXPORT_NAME
    with Session(bind=session.get_bind()) as own, own.begin():  # committed before any change
        own.get(TrainingRun, run_id).data_before = {
            EXPORT_NAME: target.read_text(encoding="utf-8") if target.exists() else None}
    run_log = RunLog(session.get_bind(), run_id, echo=echo)
    if train is None:
        train = lambda: nlu_runtime.train(echo=run_log)  # noqa: E731
    try:
        result = retrain(session, heldout, train=train, evaluate=evaluate,
                         data_dir=data_dir, echo=run_log)
    except Exception as exc:  # noqa: BLE001 - any failure ends the run as `failed`
        session.rollback()
        log.exception("training run %s failed", run_id)
        run_log(f"error: {exc}")
        run = session.get(TrainingRun, run_id)
        run.status, run.error = "failed", f"{type(exc).__name__}: {exc}"[:500]
    else:
        run = session.get(TrainingRun, run_id)
        run.status = KEPT[result.kept]
        run.old_model, run.old_accuracy = result.old_model.name, result.old_accuracy
        run.new_model = result.new_model.name if result.new_model else None
        run.new_accuracy = result.new_accuracy
        run.examples, run.by_intent = result.export.examples, dict(result.export.by_intent)
        if result.kept == "new":
            run_log(load(result.new_model))
    run.finished_at = run.heartbeat_at = utcnow()
    run.active_slot, run.log_tail = None, run_log.tail
    session.commit()  # with the reviews marked exported when the new model is kept
    return run


def run_queued(session: Session, now: datetime, data_dir: Path = DATA_DIR, **kwargs) -> dict:
    """Fail stale runs, then claim and run the oldest queued one; return counts (scheduler job)."""
    counts = {"stale_failed": fail_stale(session, now, data_dir), "ran": 0}
    run = claim(session, now)
    session.commit()  # `running` is visible (and the row ours) before the long part starts
    if run is not None:
        finished = execute(session, run.id, data_dir=data_dir, **kwargs)
        counts.update(ran=1, run=finished.id, status=finished.status)
    return counts
