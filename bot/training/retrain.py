"""Retrain the NLU model with the reviewed examples; keep the old model if the new one is worse.

The served model is the one named after the hash of nlu/data (see nlu/runtime.py),
so "keep the old model" means: put nlu/data/reviewed.yml back as it was, which
brings the data hash, and so the model in use, back to the old one.

    export reviewed.yml ──▶ train candidate ──▶ evaluate both on each held-out set
                                    ├─ new ≥ old on every set ──▶ keep (reviewed.yml stays)
                                    └─ new < old on any set ──▶ restore reviewed.yml (old model serves)

Each set's figures before and after go to the run's log; the first set's are the run's
`old_accuracy` and `new_accuracy`.
"""
from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from bot.training.export import (DATA_DIR, EXPORT_NAME, ExportReport, clean_text, export_training,
                                 render_yaml)
from nlu import runtime as nlu_runtime
from nlu.evaluate import load_cases

Evaluate = Callable[[Path, Path], float]
Train = Callable[[], Path]


@dataclass
class RetrainResult:
    """What a retraining did: both accuracies, and which model is in use now."""

    export: ExportReport
    old_model: Path
    new_model: Path | None
    old_accuracy: float
    new_accuracy: float | None
    kept: str  # "new", "old" or "unchanged"


def heldout_as_rasa_yaml(path: Path) -> str:
    """Return the held-out `intent | text | entities` file as Rasa NLU YAML (intents only)."""
    by_intent: dict[str, list[str]] = {}
    for case in load_cases(Path(path)):
        by_intent.setdefault(case.intent, []).append(clean_text(case.text))
    return render_yaml(by_intent)


def rasa_accuracy(model: Path, heldout: Path) -> float:
    """Return the intent accuracy of `model` on `heldout` (rasa test nlu; .txt is converted)."""
    with tempfile.TemporaryDirectory(prefix="chaski-eval-") as out:
        if Path(heldout).suffix == ".txt":  # nlu/heldout.txt, the format nlu/evaluate.py reads
            converted = Path(out) / "heldout.yml"
            converted.write_text(heldout_as_rasa_yaml(heldout), encoding="utf-8")
            heldout = converted
        subprocess.run([str(nlu_runtime.rasa_executable()), "test", "nlu", "-m", str(model),
                        "-u", str(heldout), "--out", out, "--no-plot", "--no-errors",
                        "--no-warnings"], cwd=nlu_runtime.PROJECT_ROOT, env=nlu_runtime.rasa_env(),
                       check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=1800)
        report = json.loads((Path(out) / "intent_report.json").read_text())
    return float(report["accuracy"])


def retrain(session, heldout: Path | Sequence[Path], *, train: Train,
            evaluate: Evaluate = rasa_accuracy, data_dir: Path = DATA_DIR,
            echo: Callable[[str], object] = print) -> RetrainResult:
    """Export reviews, train, compare on each held-out set, and keep the model that scores better."""
    sets = [Path(heldout)] if isinstance(heldout, (str, Path)) else [Path(p) for p in heldout]
    target = Path(data_dir) / EXPORT_NAME
    before = target.read_bytes() if target.exists() else None
    old_model = train()  # the model of the data as it is now (trained if missing)
    old_scores = [evaluate(old_model, path) for path in sets]
    old_accuracy = old_scores[0]
    echo(f"current model {old_model.name}: held-out accuracy " + _figures(sets, old_scores))
    report = export_training(session, data_dir)
    if not report.written or (before is not None and target.read_bytes() == before):
        echo("no new reviewed examples: nothing to retrain")
        return RetrainResult(report, old_model, None, old_accuracy, None, "unchanged")
    try:
        new_model = train()
        new_scores = [evaluate(new_model, path) for path in sets]
    except BaseException:
        _restore(target, before)
        raise
    new_accuracy = new_scores[0]
    echo(f"new model {new_model.name}: held-out accuracy " + _figures(sets, new_scores, old_scores))
    if any(new < old for new, old in zip(new_scores, old_scores)):
        _restore(target, before)
        session.rollback()  # the reviews stay unexported, for the next try
        echo("the new model is worse: nlu/data/reviewed.yml restored, the old model stays")
        return RetrainResult(report, old_model, new_model, old_accuracy, new_accuracy, "old")
    echo("the new model is as good or better: it is the model in use from the next start")
    return RetrainResult(report, old_model, new_model, old_accuracy, new_accuracy, "new")


def _figures(sets: list[Path], scores: list[float], before: list[float] | None = None) -> str:
    """Return "0.968 (heldout.txt), 0.959 (heldout2.txt)", with the change when `before` is given."""
    parts = []
    for i, (path, score) in enumerate(zip(sets, scores)):
        change = f", {score - before[i]:+.3f}" if before is not None else ""
        parts.append(f"{score:.3f} ({path.name}{change})")
    return ", ".join(parts)


def _restore(target: Path, before: bytes | None) -> None:
    if before is None:
        target.unlink(missing_ok=True)
    else:
        target.write_bytes(before)
