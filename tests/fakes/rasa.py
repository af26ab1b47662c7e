"""Train and evaluate without Rasa, for the retraining tests."""
from __future__ import annotations

from pathlib import Path


class FakeRasa:
    """The model is named after the data ("radio" in reviewed.yml: new, else old); scores are set.

    `calls` records each train and evaluate, `trained` the model names trained;
    `fail_on` ("train new") makes that step fail; `heldout_name` checks the file evaluated on.
    """

    def __init__(self, data_dir: Path, old: float, new: float, fail_on: str | None = None,
                 heldout_name: str | None = None):
        self.data_dir, self.scores = data_dir, {"old": old, "new": new}
        self.fail_on, self.heldout_name = fail_on, heldout_name
        self.calls: list[str] = []
        self.trained: list[str] = []

    def train(self) -> Path:
        reviewed = self.data_dir / "reviewed.yml"
        name = "new" if reviewed.exists() and "radio" in reviewed.read_text() else "old"
        self.calls.append(f"train {name}")
        self.trained.append(name)
        if self.fail_on == f"train {name}":
            raise RuntimeError("`rasa train nlu` failed with exit code 1")
        return Path(f"nlu-{name}.tar.gz")

    def evaluate(self, model: Path, heldout: Path) -> float:
        if self.heldout_name:
            assert heldout.name == self.heldout_name
        self.calls.append(f"evaluate {model.name}")
        return self.scores[model.name.split("-")[1].split(".")[0]]
