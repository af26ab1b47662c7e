"""Retraining keeps the better model: the old one when held-out accuracy drops."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.training.retrain import retrain
from models import Review
from tests.console.conftest import console_app, reviewed  # noqa: F401 - fixtures
from tests.fakes.rasa import FakeRasa

pytestmark = pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")


def run(db, tmp_path, old: float, new: float):
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    (data / "reviewed.yml").write_text("version: \"3.1\"\nnlu: []\n")
    fake = FakeRasa(data, old, new, heldout_name="heldout.yml")
    with db.session() as s:
        result = retrain(s, tmp_path / "heldout.yml", train=fake.train, evaluate=fake.evaluate,
                         data_dir=data, echo=lambda _: None)
    return result, fake, data


def test_a_better_model_is_kept(db, reviewed, tmp_path):
    result, fake, data = run(db, tmp_path, old=0.80, new=0.85)
    assert (result.kept, result.old_accuracy, result.new_accuracy) == ("new", 0.80, 0.85)
    assert fake.trained == ["old", "new"]
    assert "radio" in (data / "reviewed.yml").read_text()
    with db.session() as s:
        assert s.scalar(select(Review.exported_at)) is not None


def test_a_worse_model_is_dropped_and_the_data_put_back(db, reviewed, tmp_path):
    result, fake, data = run(db, tmp_path, old=0.80, new=0.78)
    assert result.kept == "old" and fake.trained == ["old", "new"]
    assert (data / "reviewed.yml").read_text() == "version: \"3.1\"\nnlu: []\n"
    assert fake.train().name == "nlu-old.tar.gz"  # the data hash, so the model, is the old one
    with db.session() as s:
        assert s.scalar(select(Review.exported_at)) is None  # tried again next time


def test_each_held_out_set_is_reported_and_a_drop_on_any_keeps_the_old_model(db, reviewed, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "reviewed.yml").write_text("version: \"3.1\"\nnlu: []\n")
    fake = FakeRasa(data, 0.0, 0.0)
    scores = {("old", "a.txt"): 0.90, ("old", "b.txt"): 0.80,
              ("new", "a.txt"): 0.95, ("new", "b.txt"): 0.79}  # better on one, worse on the other

    def evaluate(model, heldout):
        fake.evaluate(model, heldout)
        return scores[(model.name.split("-")[1].split(".")[0], heldout.name)]

    lines = []
    with db.session() as s:
        result = retrain(s, [tmp_path / "a.txt", tmp_path / "b.txt"], train=fake.train,
                         evaluate=evaluate, data_dir=data, echo=lines.append)
    assert result.kept == "old" and (result.old_accuracy, result.new_accuracy) == (0.90, 0.95)
    assert fake.calls.count("evaluate nlu-old.tar.gz") == 2
    assert "held-out accuracy 0.900 (a.txt), 0.800 (b.txt)" in lines[0]
    assert "0.950 (a.txt, +0.050), 0.790 (b.txt, -0.010)" in "\n".join(lines)


def test_nothing_to_retrain_without_new_reviews(db, tmp_path):
    result, fake, _ = run(db, tmp_path, old=0.80, new=0.90)
    assert result.kept == "unchanged" and fake.trained == ["old"]


def test_the_command_needs_a_heldout_set(console_app):
    result = console_app.test_cli_runner().invoke(args=["retrain-nlu", "--heldout", "/nope.yml"])
    assert result.exit_code == 2 and "does not exist" in result.output


@pytest.mark.parametrize("command", ["create-user", "export-training", "retrain-nlu"])
def test_the_console_commands_have_help(console_app, command):
    result = console_app.test_cli_runner().invoke(args=[command, "--help"])
    assert result.exit_code == 0 and len(result.output.splitlines()[2]) > 10
