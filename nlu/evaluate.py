"""Measure the NLU on the held-out set through the webhook's path (rules, then Rasa).

Command line (``make nlu-eval``)::

    python -m nlu.evaluate                 # train if needed, start a Rasa server, report
    python -m nlu.evaluate --url URL       # use a Rasa server that is already running
    python -m nlu.evaluate --json          # the figures as one JSON object

Used by ``tests/nlu/test_heldout.py`` (the CI gate) and ``bench/nlu_pipelines.py``.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

from nlu.classifier import DEFAULT_MIN_CONFIDENCE, INTENTS, Classifier, Parse
from nlu.client import RasaClient
from nlu.runtime import train
from nlu.server import RasaServer

PROJECT_ROOT = Path(__file__).resolve().parent.parent
HELDOUT_FILE = PROJECT_ROOT / "nlu" / "heldout.txt"  # outside nlu/data: never trained on
PRICE_ENTITIES = ("product", "location")


@dataclass(frozen=True)
class Case:
    """One held-out message with the intent and entities it should get."""

    text: str
    intent: str
    entities: dict = field(default_factory=dict)


def load_cases(path: Path = HELDOUT_FILE) -> list[Case]:
    """Read ``intent | text | name=value, ...`` lines, skipping comments and blanks."""
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = [part.strip() for part in line.split("|")]
        if len(parts) != 3 or parts[0] not in INTENTS or not parts[1]:
            raise ValueError(f"{path}:{number}: expected 'intent | text | entities': {line!r}")
        entities = {}
        for pair in filter(None, (p.strip() for p in parts[2].split(","))):
            name, _, value = pair.partition("=")
            entities[name.strip()] = value.strip()
        cases.append(Case(parts[1], parts[0], entities))
    return cases


@dataclass
class Report:
    """Held-out figures: intent accuracy, per-intent P/R/F1, entity accuracy, confusions."""

    cases: list[Case]
    parses: list[Parse]

    @property
    def accuracy(self) -> float:
        hits = sum(c.intent == p.intent for c, p in zip(self.cases, self.parses))
        return hits / len(self.cases) if self.cases else 0.0

    def per_intent(self) -> dict[str, dict[str, float]]:
        """Return {intent: {precision, recall, f1, support}} for intents in the set."""
        pairs = [(c.intent, p.intent) for c, p in zip(self.cases, self.parses)]
        table = {}
        for intent in sorted({c.intent for c in self.cases}):
            tp = sum(1 for gold, pred in pairs if gold == intent and pred == intent)
            predicted = sum(1 for _gold, pred in pairs if pred == intent)
            support = sum(1 for gold, _pred in pairs if gold == intent)
            precision = tp / predicted if predicted else 0.0
            recall = tp / support if support else 0.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            table[intent] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
        return table

    @property
    def macro_f1(self) -> float:
        rows = self.per_intent().values()
        return sum(r["f1"] for r in rows) / len(rows) if rows else 0.0

    def recall(self, intent: str) -> float:
        return self.per_intent().get(intent, {}).get("recall", 0.0)

    def entity_accuracy(self, name: str, intent: str = "ask_price") -> tuple[float, int]:
        """Return (share of `intent` cases whose expected `name` was found exactly, count)."""
        pairs = [(c, p) for c, p in zip(self.cases, self.parses)
                 if c.intent == intent and name in c.entities]
        hits = sum(p.entities.get(name) == c.entities[name] for c, p in pairs)
        return (hits / len(pairs) if pairs else 0.0), len(pairs)

    def confusions(self) -> list[tuple[str, str, int]]:
        """Return (expected, predicted, count) for every wrong pair, most frequent first."""
        counts = Counter((c.intent, p.intent) for c, p in zip(self.cases, self.parses)
                         if c.intent != p.intent)
        return [(gold, pred, n) for (gold, pred), n in counts.most_common()]

    def errors(self) -> list[tuple[Case, Parse]]:
        return [(c, p) for c, p in zip(self.cases, self.parses) if c.intent != p.intent]

    def as_dict(self) -> dict:
        product, n_product = self.entity_accuracy("product")
        location, n_location = self.entity_accuracy("location")
        return {
            "messages": len(self.cases), "intent_accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "recall_gbv_support": round(self.recall("gbv_support"), 4),
            "recall_opt_out": round(self.recall("opt_out"), 4),
            "price_product_accuracy": round(product, 4), "price_product_cases": n_product,
            "price_location_accuracy": round(location, 4), "price_location_cases": n_location,
            "confusions": [list(row) for row in self.confusions()],
        }

    def format(self, show_errors: bool = True) -> str:
        """Return the human-readable report that `make nlu-eval` prints."""
        lines = [f"Held-out set: {len(self.cases)} messages ({HELDOUT_FILE.name}), rules + Rasa",
                 f"intent accuracy    {self.accuracy:.3f}", f"macro F1           {self.macro_f1:.3f}"]
        for name in PRICE_ENTITIES:
            acc, n = self.entity_accuracy(name)
            lines.append(f"{name + ' accuracy':<19}{acc:.3f}  (price questions naming one: {n})")
        asked = [p for p in self.parses if p.low_confidence]
        answered = [(c, p) for c, p in zip(self.cases, self.parses) if not p.low_confidence]
        right = sum(c.intent == p.intent for c, p in answered)
        lines.append(f"clarify question {len(asked)} of {len(self.parses)} messages below the "
                     f"threshold; answered directly: {right}/{len(answered)} right")
        lines += ["", f"{'intent':<17}{'prec':>6}{'rec':>6}{'f1':>6}{'n':>5}"]
        for intent, row in self.per_intent().items():
            lines.append(f"{intent:<17}{row['precision']:>6.2f}{row['recall']:>6.2f}"
                         f"{row['f1']:>6.2f}{row['support']:>5}")
        lines += ["", "confusion pairs (expected -> predicted: count)"]
        lines += [f"  {gold} -> {pred}: {n}" for gold, pred, n in self.confusions()] or ["  none"]
        if show_errors:
            lines += ["", "misclassified messages"]
            lines += [f"  [{c.intent} -> {p.intent} {p.confidence:.2f}] {c.text}"
                      for c, p in self.errors()] or ["  none"]
        return "\n".join(lines)


def evaluate(classifier: Classifier, cases: Optional[Iterable[Case]] = None) -> Report:
    """Classify every held-out case the way the webhook does and return the Report."""
    cases = list(cases) if cases is not None else load_cases()
    return Report(cases, [classifier.classify(case.text) for case in cases])


def evaluate_url(url: str, min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> Report:
    """Evaluate against the Rasa server at `url`."""
    with RasaClient(url, timeout=10.0) as client:
        return evaluate(Classifier(client, min_confidence=min_confidence))


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nlu.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running Rasa server (default: start one on the current model)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--quiet", action="store_true", help="do not list misclassified messages")
    args = parser.parse_args(argv)
    if args.url:
        report = evaluate_url(args.url)
    else:
        model = train(echo=lambda line: print(line, file=sys.stderr))
        with RasaServer(model=model) as server:
            report = evaluate_url(server.url)
    print(json.dumps(report.as_dict()) if args.json else report.format(not args.quiet))
    return 0


if __name__ == "__main__":
    sys.exit(main())
