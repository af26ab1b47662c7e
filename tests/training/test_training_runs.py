"""Retraining as a background job: the console queues, the scheduler's job claims and runs."""
from __future__ import annotations

import socket
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bot.training import runs as training_runs
from bot.training.retrain import heldout_as_rasa_yaml
from bot.jobs import JOBS
from bot.scheduler import TIMETABLE
from bot.training.runs import STALE_AFTER, RunInProgress, RunLog, claim, enqueue, run_queued
from models import AuditLog, Review, TrainingRun, utcnow
from nlu.evaluate import HELDOUT_FILE, load_cases
from tests.console.conftest import (as_role, console_app, csrf_token, email_of,  # noqa: F401
                                    reviewed, staff)  # (fixtures)
from tests.fakes.rasa import FakeRasa

pytestmark = pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")
EMPTY = 'version: "3.1"\nnlu: []\n'


@pytest.fixture
def data_dir(tmp_path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    (data / "reviewed.yml").write_text(EMPTY)
    return data


def queue(db, who: str = "revisora@chaski.test", at=None) -> int:
    with db.session() as s:
        return enqueue(s, requested_by=who, now=at or utcnow()).id


def job(db, fake: FakeRasa, data_dir: Path, now=None) -> dict:
    with db.session() as s:
        return run_queued(s, now or utcnow(), train=fake.train, evaluate=fake.evaluate,
                          data_dir=data_dir, heldout=HELDOUT_FILE)


def get(db, run_id: int) -> TrainingRun:
    with db.session() as s:
        return s.get(TrainingRun, run_id)


def test_the_scheduler_runs_the_job_every_minute():
    assert TIMETABLE["retrain-nlu"] == ("retrain_nlu", "interval", {"minutes": 1})
    assert "retrain_nlu" in JOBS


def test_the_job_keeps_a_better_model_and_records_both_accuracies(db, reviewed, data_dir):
    run_id = queue(db)
    fake = FakeRasa(data_dir, old=0.80, new=0.85)
    assert job(db, fake, data_dir) == {"stale_failed": 0, "ran": 1, "run": run_id,
                                       "status": "kept_new"}
    run = get(db, run_id)
    assert (run.status, run.old_accuracy, run.new_accuracy) == ("kept_new", 0.80, 0.85)
    assert (run.old_model, run.new_model, run.examples) == ("nlu-old.tar.gz", "nlu-new.tar.gz", 1)
    assert run.by_intent == {"out_of_scope": 1} and run.active_slot is None
    assert run.started_at <= run.finished_at and run.worker
    assert "held-out accuracy 0.850" in run.log_tail
    assert run.data_before == {"reviewed.yml": EMPTY}  # what to put back if it had been killed
    assert "radio" in (data_dir / "reviewed.yml").read_text()
    with db.session() as s:
        assert s.scalar(select(Review.exported_at)) is not None  # committed with the run
    assert job(db, fake, data_dir)["ran"] == 0  # nothing queued any more


def test_a_kept_model_is_loaded_into_the_running_server_and_an_old_one_is_not(db, reviewed,
                                                                             data_dir):
    loaded = []

    def load(model):
        loaded.append(model.name)
        return f"the running NLU server now serves {model.name}"

    run_id = queue(db)
    fake = FakeRasa(data_dir, old=0.80, new=0.85)
    with db.session() as s:
        run_queued(s, utcnow(), train=fake.train, evaluate=fake.evaluate, data_dir=data_dir,
                   heldout=HELDOUT_FILE, load=load)
    assert loaded == ["nlu-new.tar.gz"]
    assert "now serves nlu-new.tar.gz" in get(db, run_id).log_tail
    queue(db)
    with db.session() as s:  # nothing new to train on: nothing to load
        run_queued(s, utcnow(), train=fake.train, evaluate=fake.evaluate, data_dir=data_dir,
                   heldout=HELDOUT_FILE, load=load)
    assert loaded == ["nlu-new.tar.gz"]


def test_a_model_file_that_is_not_here_is_never_sent_to_the_server(tmp_path):
    from bot.training.runs import load_into_server

    assert "was not asked" in load_into_server(tmp_path / "nlu-new.tar.gz")


def test_the_job_keeps_the_old_model_when_the_new_one_is_worse(db, reviewed, data_dir):
    run_id = queue(db)
    job(db, FakeRasa(data_dir, old=0.80, new=0.75), data_dir)
    run = get(db, run_id)
    assert (run.status, run.old_accuracy, run.new_accuracy) == ("kept_old", 0.80, 0.75)
    assert (data_dir / "reviewed.yml").read_text() == EMPTY
    with db.session() as s:
        assert s.scalar(select(Review.exported_at)) is None  # tried again next time


def test_nothing_new_to_train_on_is_unchanged(db, data_dir):
    run_id = queue(db)
    fake = FakeRasa(data_dir, old=0.80, new=0.90)
    job(db, fake, data_dir)
    assert get(db, run_id).status == "unchanged" and fake.calls == ["train old",
                                                                    "evaluate nlu-old.tar.gz"]


def test_a_failing_training_fails_the_run_puts_the_data_back_and_frees_the_slot(db, reviewed,
                                                                               data_dir):
    run_id = queue(db)
    job(db, FakeRasa(data_dir, old=0.80, new=0.90, fail_on="train new"), data_dir)
    run = get(db, run_id)
    assert run.status == "failed" and "exit code 1" in run.error and run.finished_at
    assert "exit code 1" in run.log_tail
    assert (data_dir / "reviewed.yml").read_text() == EMPTY
    assert queue(db) != run_id  # the next retraining can be asked for


def test_the_job_claims_the_oldest_queued_run_first(db, data_dir):
    now = utcnow()
    first = queue(db, at=now - timedelta(minutes=5))
    with db.session() as s:  # the slot is taken: a second one cannot be queued meanwhile
        with pytest.raises(RunInProgress) as exc:
            enqueue(s, requested_by="cli", now=now)
        assert exc.value.run_id == first
    with db.session() as s:
        claimed = claim(s, now)
        assert (claimed.id, claimed.status) == (first, "running")
        assert claim(s, now) is None


def test_a_run_left_running_by_a_killed_scheduler_fails_on_the_next_job_run(db, data_dir):
    now = utcnow()
    with db.session() as s:
        stale = enqueue(s, requested_by="cli", now=now - STALE_AFTER * 3, start=True)
        stale.heartbeat_at = now - STALE_AFTER - timedelta(minutes=1)
        stale_id = stale.id
    fake = FakeRasa(data_dir, old=0.8, new=0.9)
    assert job(db, fake, data_dir, now=now) == {"stale_failed": 1, "ran": 0}
    run = get(db, stale_id)
    assert run.status == "failed" and "scheduler was stopped" in run.error
    assert run.active_slot is None and fake.calls == []


@pytest.mark.parametrize("before", [EMPTY, None])
def test_a_run_whose_process_is_gone_fails_at_once_and_its_export_is_put_back(db, data_dir,
                                                                             before):
    gone = subprocess.Popen(["true"])
    gone.wait()
    with db.session() as s:
        run = enqueue(s, requested_by="cli", now=utcnow(), start=True)
        run.worker, run_id = f"{socket.gethostname()[:60]}:{gone.pid}", run.id
        run.data_before = {"reviewed.yml": before}
    # Killed after writing its export, before comparing the models: data never evaluated.
    (data_dir / "reviewed.yml").write_text("nlu:\n- intent: out_of_scope\n  examples: |\n"
                                           "    - q cancion suena en la radio\n")
    assert job(db, FakeRasa(data_dir, 0.8, 0.9), data_dir)["stale_failed"] == 1
    assert "stopped during the run" in get(db, run_id).error
    reviewed = data_dir / "reviewed.yml"
    assert (reviewed.read_text() if reviewed.exists() else None) == before


def test_a_run_that_shows_signs_of_life_is_left_alone(db, data_dir):
    now = utcnow()
    with db.session() as s:
        alive = enqueue(s, requested_by="cli", now=now - STALE_AFTER * 3, start=True)
        alive.heartbeat_at, alive_id = now - timedelta(minutes=1), alive.id
    assert job(db, FakeRasa(data_dir, 0.8, 0.9), data_dir, now=now) == {"stale_failed": 0,
                                                                         "ran": 0}
    assert get(db, alive_id).status == "running"


def test_two_schedulers_never_claim_the_same_run(db, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("FOR UPDATE SKIP LOCKED is PostgreSQL's; SQLite has one writer anyway")
    run_id = queue(db)
    with db.session() as first, db.session() as second:
        assert claim(first, utcnow()).id == run_id  # row locked until `first` commits
        assert claim(second, utcnow()) is None


def test_the_log_is_written_as_a_heartbeat_at_most_every_few_seconds(db):
    run_id = queue(db)
    ticks = iter([0.0, 1.0, 2.0, 6.0, 7.0])
    run_log = RunLog(db.engine, run_id, clock=lambda: next(ticks))
    run_log("uno")  # first line: written (tick 0, then the flush reads tick 1)
    run_log("dos")  # tick 2: within 5 s of the last write, kept in memory only
    assert get(db, run_id).log_tail == "uno"
    run_log("tres")  # tick 6: written
    assert get(db, run_id).log_tail == "uno\ndos\ntres"


def test_the_heldout_file_becomes_rasa_yaml_with_every_message():
    doc = yaml.safe_load(heldout_as_rasa_yaml(HELDOUT_FILE))
    examples = {item["intent"]: sum(line.startswith("- ") for line in item["examples"].splitlines())
                for item in doc["nlu"]}
    cases = load_cases()
    assert sum(examples.values()) == len(cases) > 200
    assert set(examples) == {case.intent for case in cases}


# --- the console page --------------------------------------------------------------------


@pytest.fixture
def no_training_here(monkeypatch):
    """Fail the test if anything in the web request tries to train or evaluate."""
    def refuse(*_args, **_kwargs):
        raise AssertionError("a web request trained a model")

    monkeypatch.setattr(training_runs, "retrain", refuse)
    monkeypatch.setattr("nlu.runtime.train", refuse)
    monkeypatch.setattr("bot.training.retrain.rasa_accuracy", refuse)


def test_the_button_only_queues_a_run_and_audits_who_asked(as_role, db, staff, no_training_here):
    client = as_role("reviewer")
    response = client.post("/console/reentrenar",
                           data={"csrf_token": csrf_token(client, "/console/reentrenar")})
    assert response.status_code == 302
    with db.session() as s:
        run = s.scalar(select(TrainingRun))
        audit = s.scalar(select(AuditLog).where(AuditLog.action == "retrain_queued"))
    assert (run.status, run.requested_by, run.requested_by_id) == (
        "queued", email_of("reviewer"), staff["reviewer"])
    assert run.started_at is None and audit.target == f"training_run:{run.id}"
    page = client.get("/console/reentrenar").get_data(as_text=True)
    assert f"Reentrenamiento #{run.id}" in page and 'http-equiv="refresh"' in page
    assert "Reentrenar ahora" not in page  # no second button while one is queued


def test_a_second_click_shows_the_run_in_progress(as_role, db, no_training_here):
    first = queue(db, who="cli")
    admin = as_role("admin")
    token = csrf_token(admin, "/console/reentrenar")
    page = admin.post("/console/reentrenar", data={"csrf_token": token}, follow_redirects=True)
    assert f"Ya hay un reentrenamiento en curso (#{first}, en cola)" in page.get_data(as_text=True)
    with db.session() as s:
        assert [r.id for r in s.scalars(select(TrainingRun))] == [first]


def test_the_page_shows_accuracies_and_stops_refreshing_when_done(as_role, db, reviewed,
                                                                  data_dir):
    run_id = queue(db)
    job(db, FakeRasa(data_dir, old=0.812, new=0.845), data_dir)
    page = as_role("reviewer").get("/console/reentrenar").get_data(as_text=True)
    assert "0.812" in page and "0.845" in page and "nuevo modelo en uso" in page
    assert f"<td>{run_id}</td>" in page and "Reentrenar ahora" in page
    assert 'http-equiv="refresh"' not in page


@pytest.mark.parametrize("role,status", [("admin", 200), ("reviewer", 200), ("coordinator", 403),
                                         ("counsellor", 403)])
def test_who_may_retrain(as_role, db, role, status):
    client = as_role(role)
    assert client.get("/console/reentrenar").status_code == status
    token = csrf_token(client, "/console/")
    assert client.post("/console/reentrenar", data={"csrf_token": token}).status_code == (
        302 if status == 200 else 403)
    assert client.post("/console/reentrenar").status_code == 400  # no CSRF token


def test_logged_out_is_sent_to_the_login_page(console_app, db):
    response = console_app.test_client().get("/console/reentrenar")
    assert response.status_code == 302 and "/console/login" in response.headers["Location"]


# --- the command line ----------------------------------------------------------------------


def test_the_command_can_queue_for_the_scheduler_and_refuses_a_second_run(console_app, db):
    runner = console_app.test_cli_runner()
    result = runner.invoke(args=["retrain-nlu", "--queue"])
    assert result.exit_code == 0, result.output
    with db.session() as s:
        run = s.scalar(select(TrainingRun))
    assert (run.status, run.requested_by) == ("queued", "cli") and f"#{run.id}" in result.output
    again = runner.invoke(args=["retrain-nlu"])
    assert again.exit_code == 1 and f"retraining #{run.id} is already queued" in again.output


@pytest.mark.rasa
def test_the_job_evaluates_the_real_model_on_the_heldout_file(db, data_dir, database_url):
    """Real Rasa: the current model (trained if missing), `rasa test nlu` on nlu/heldout.txt."""
    if database_url.startswith("postgresql"):
        pytest.skip("the Rasa part does not depend on the database: run once, on SQLite")
    run_id = queue(db)
    with db.session() as s:
        counts = run_queued(s, utcnow(), data_dir=data_dir)  # real train and evaluate
    run = get(db, run_id)
    assert counts["status"] == "unchanged", run.error or run.log_tail
    assert run.old_model.startswith("nlu-") and run.old_accuracy >= 0.9
    assert f"held-out accuracy {run.old_accuracy:.3f}" in run.log_tail
