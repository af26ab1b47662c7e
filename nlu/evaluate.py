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
# The second set (issue 15): neutral Spanish, short messages, negations, risky non-violence.
HELDOUT2_FILE = PROJECT_ROOT / "nlu" / "heldout2.txt"
HELDOUT_FILES = (HELDOUT_FILE, HELDOUT2_FILE)
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
    name: str = HELDOUT_FILE.name

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

    def false_alarms(self, intent: str = "gbv_support") -> list[tuple[Case, Parse]]:
        """Return the cases of other intents that were classed `intent` (rules or model)."""
        return [(c, p) for c, p in zip(self.cases, self.parses)
                if c.intent != intent and p.intent == intent]

    def false_alarm_rate(self, intent: str = "gbv_support") -> float:
        """Return the share of messages of other intents classed `intent`."""
        others = sum(c.intent != intent for c in self.cases)
        return len(self.false_alarms(intent)) / others if others else 0.0

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
            "set": self.name, "messages": len(self.cases), "intent_accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "recall_gbv_support": round(self.recall("gbv_support"), 4),
            "recall_opt_out": round(self.recall("opt_out"), 4),
            "gbv_false_alarm_rate": round(self.false_alarm_rate(), 4),
            "gbv_false_alarms": [c.text for c, _p in self.false_alarms()],
            "price_product_accuracy": round(product, 4), "price_product_cases": n_product,
            "price_location_accuracy": round(location, 4), "price_location_cases": n_location,
            "confusions": [list(row) for row in self.confusions()],
        }

    def format(self, show_errors: bool = True) -> str:
        """Return the human-readable report that `make nlu-eval` prints."""
        alarms = self.false_alarms()
        by_rule = sum(p.source == "rule" for _c, p in alarms)
        others = sum(c.intent != "gbv_support" for c in self.cases)
        lines = [f"Held-out set: {len(self.cases)} messages ({self.name}), rules + Rasa",
                 f"intent accuracy    {self.accuracy:.3f}", f"macro F1           {self.macro_f1:.3f}",
                 f"gbv_support recall {self.recall('gbv_support'):.3f}",
                 f"opt_out recall     {self.recall('opt_out'):.3f}",
                 f"gbv false alarms   {self.false_alarm_rate():.3f}  ({len(alarms)} of {others} "
                 f"non-violence messages; {by_rule} by the emergency rules, "
                 f"{len(alarms) - by_rule} by the model)"]
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
        lines += [f"  false alarm [{p.source}] {c.text}" for c, p in alarms]
        if show_errors:
            lines += ["", "misclassified messages"]
            lines += [f"  [{c.intent} -> {p.intent} {p.confidence:.2f}] {c.text}"
                      for c, p in self.errors()] or ["  none"]
        return "\n".join(lines)


def evaluate(classifier: Classifier, cases: Optional[Iterable[Case]] = None,
             name: str = HELDOUT_FILE.name) -> Report:
    """Classify every held-out case the way the webhook does and return the Report."""
    cases = list(cases) if cases is not None else load_cases()
    return Report(cases, [classifier.classify(case.text) for case in cases], name)


def evaluate_url(url: str, min_confidence: Optional[float] = None,
                 path: Path = HELDOUT_FILE) -> Report:
    """Evaluate one held-out set against the Rasa server at `url`."""
    return evaluate_all(url, min_confidence, (path,))[0]


def evaluate_all(url: str, min_confidence: Optional[float] = None,
                 paths: Iterable[Path] = HELDOUT_FILES) -> list[Report]:
    """Evaluate every held-out set against the Rasa server at `url`, one Report each."""
    kwargs = {} if min_confidence is None else {"min_confidence": min_confidence}
    with RasaClient(url, timeout=10.0) as client:
        classifier = Classifier(client, **kwargs)
        return [evaluate(classifier, load_cases(path), path.name) for path in paths]


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nlu.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running Rasa server (default: start one on the current model)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--quiet", action="store_true", help="do not list misclassified messages")
    parser.add_argument("--floors", action="store_true",
                        help="choose the per-intent and gbv_support model floors from the held-out sets")
    args = parser.parse_args(argv)
    if args.floors:
        run = lambda url: print(format_floors(raw_reports(url)))  # noqa: E731
    else:
        run = None
    if args.url:
        if run:
            run(args.url)
            return 0
        reports = evaluate_all(args.url)
    else:
        model = train(echo=lambda line: print(line, file=sys.stderr))
        with RasaServer(model=model) as server:
            if run:
                run(server.url)
                return 0
            reports = evaluate_all(server.url)
    if args.json:
        print(json.dumps([report.as_dict() for report in reports]))
    else:
        print("\n\n".join(report.format(not args.quiet) for report in reports))
        print("\n" + gates_summary(reports))
    return 0 if all(ok for _name, ok, _text in gates(reports)) else 1


# ---- choosing the thresholds (nlu/classifier.py) from the held-out sets ----
FLOOR_GRID = tuple(round(0.30 + 0.05 * i, 2) for i in range(14))  # 0.30 ... 0.95
CLARIFY_COST = 0.5  # a right guess sent to the question costs half a wrong answer
MIN_GAIN = 1.5  # move an intent's floor off the default only if it saves this much (not one message)


def raw_reports(url: str) -> list[Report]:
    """Both held-out sets through rules + model with no floors at all (for choosing them)."""
    with RasaClient(url, timeout=10.0) as client:
        classifier = Classifier(client, min_confidence=0.0, intent_floors={}, gbv_min_confidence=0.0)
        return [evaluate(classifier, load_cases(path), path.name) for path in HELDOUT_FILES]


def choose_floors(reports: Iterable[Report], default: float = DEFAULT_MIN_CONFIDENCE
                  ) -> dict[str, tuple[float, float, float]]:
    """Return {intent: (floor, cost at floor, cost at default)} over the model's guesses.

    Cost: 1 per wrong guess answered, CLARIFY_COST per right guess sent to the
    question. The default is kept unless another floor saves at least MIN_GAIN.
    """
    guesses = [(c.intent, p.intent, p.confidence) for r in reports
               for c, p in zip(r.cases, r.parses) if p.source == "rasa"]
    chosen = {}
    for intent in INTENTS:
        mine = [(gold == pred, conf) for gold, pred, conf in guesses if pred == intent]

        def cost(t, mine=mine):
            return sum((not ok and conf >= t) + CLARIFY_COST * (ok and conf < t) for ok, conf in mine)

        best = min(FLOOR_GRID, key=lambda t: (cost(t), abs(t - default)))
        chosen[intent] = (best if cost(default) - cost(best) >= MIN_GAIN else default,
                          cost(best), cost(default))
    return chosen


def gbv_model_false_alarms(reports: Iterable[Report], floor: float) -> tuple[int, int, int, int]:
    """Return (model false alarms >= floor, non-violence messages, real cries the model
    alone found, of which below the floor) over the held-out sets."""
    pairs = [(c, p) for r in reports for c, p in zip(r.cases, r.parses)]
    alarms = sum(c.intent != "gbv_support" and p.source == "rasa" and p.intent == "gbv_support"
                 and p.confidence >= floor for c, p in pairs)
    others = sum(c.intent != "gbv_support" for c, _p in pairs)
    found = [p for c, p in pairs if c.intent == "gbv_support" and p.source == "rasa"
             and p.intent == "gbv_support"]
    return alarms, others, len(found), sum(p.confidence < floor for p in found)


def format_floors(reports: list[Report]) -> str:
    lines = [f"per-intent floors (model guesses on {', '.join(r.name for r in reports)}; "
             f"cost = wrong answers + {CLARIFY_COST} x right guesses asked)",
             f"{'intent':<17}{'floor':>6}{'cost':>7}{'at ' + str(DEFAULT_MIN_CONFIDENCE):>9}"]
    for intent, (floor, cost, at_default) in choose_floors(reports).items():
        lines.append(f"{intent:<17}{floor:>6.2f}{cost:>7.1f}{at_default:>9.1f}")
    lines += ["", "gbv_support model floor: false alarms by the model alone at or above it",
              f"{'floor':>6}{'alarms':>8}{'rate':>7}{'cries found by model':>22}{'lost':>6}"]
    for floor in (0.0,) + FLOOR_GRID + (0.97, 0.99, 0.995):
        alarms, others, found, lost = gbv_model_false_alarms(reports, floor)
        lines.append(f"{floor:>6.3f}{alarms:>8}{alarms / others:>7.3f}{found:>22}{lost:>6}")
    return "\n".join(lines)


# The targets, checked by tests/nlu/test_heldout.py and printed by make nlu-eval.
GATES = {"intent_accuracy": 0.95, "recall": 1.0, "gbv_false_alarm_rate": 0.01, "price_entity": 0.95}


def gates(reports: Iterable[Report]) -> list[tuple[str, bool, str]]:
    """Return (gate, met, figures) for every target on every held-out set."""
    rows = []
    for r in reports:
        rows.append((f"{r.name} intent accuracy >= {GATES['intent_accuracy']}",
                     r.accuracy >= GATES["intent_accuracy"], f"{r.accuracy:.3f}"))
        for intent in ("gbv_support", "opt_out"):
            rows.append((f"{r.name} {intent} recall = 1.0", r.recall(intent) >= GATES["recall"],
                         f"{r.recall(intent):.3f}"))
        rows.append((f"{r.name} gbv false alarms <= {GATES['gbv_false_alarm_rate']:.0%}",
                     r.false_alarm_rate() <= GATES["gbv_false_alarm_rate"],
                     f"{r.false_alarm_rate():.3f}"))
        for name in PRICE_ENTITIES:
            acc, n = r.entity_accuracy(name)
            rows.append((f"{r.name} price {name} accuracy >= {GATES['price_entity']}",
                         acc >= GATES["price_entity"], f"{acc:.3f} of {n}"))
    return rows


def gates_summary(reports: Iterable[Report]) -> str:
    lines = ["gates (issue 15)"]
    lines += [f"  {'ok  ' if ok else 'FAIL'} {name}: {text}" for name, ok, text in gates(reports)]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
