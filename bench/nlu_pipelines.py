"""Compare Rasa NLU pipelines by stratified k-fold cross-validation and on the held-out set.

    .venv/bin/python bench/nlu_pipelines.py [--folds 3] [--only light,...] [--skip-heldout]
    .venv/bin/python bench/nlu_pipelines.py --folds 1     # quick: no cross-validation

For each candidate pipeline (config.yml with some components changed) this
trains one model per fold on nlu/data minus that fold (lookups and synonyms
always kept), parses the fold's examples through a real Rasa server, then
trains on all of nlu/data and runs both held-out sets (nlu/heldout.txt,
nlu/heldout2.txt) through the webhook's path (rules + Rasa). It prints one table: CV intent
accuracy and macro F1 (model only), held-out accuracy, macro F1, safety
recall, entity accuracy, training seconds, start-up seconds and RSS.

It also prints, from the cross-validation predictions of the first pipeline
(never from the held-out set), the accuracy/coverage trade-off of each
confidence threshold: that is how nlu_min_confidence is chosen.
Seeds are fixed (DIET random_seed, fold assignment), so runs are reproducible.
"""
from __future__ import annotations

import argparse
import copy
import json
import random
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlu import rules  # noqa: E402
from nlu.classifier import Classifier  # noqa: E402
from nlu.client import RasaClient  # noqa: E402
from nlu.evaluate import HELDOUT_FILES, Report, evaluate, load_cases  # noqa: E402
from nlu.runtime import train  # noqa: E402
from nlu.server import RasaServer  # noqa: E402

SEED = 7
OUTPUT = ROOT / "bench" / "output"
THRESHOLDS = (0.0, 0.2, 0.3, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9)


def _diet(config: dict) -> dict:
    return next(c for c in config["pipeline"] if c["name"] == "DIETClassifier")


def _char_ngrams(config: dict) -> dict:
    return next(c for c in config["pipeline"]
                if c["name"] == "CountVectorsFeaturizer" and c.get("analyzer") == "char_wb")


def light(config: dict) -> dict:
    """Return config.yml as it is (the candidate in use)."""
    return config


def no_transformer(config: dict) -> dict:
    """Return DIET without a transformer layer: a feed-forward classifier on sparse features."""
    _diet(config).update(number_of_transformer_layers=0)
    return config


def diet_entities(config: dict) -> dict:
    """Return DIET with its entity CRF on as well (entities from the model and the lookups)."""
    _diet(config).update(entity_recognition=True)
    return config


def wide_ngrams(config: dict) -> dict:
    """Return char n-grams 2-5 and word bigrams, more epochs."""
    _char_ngrams(config).update(min_ngram=2, max_ngram=5)
    for comp in config["pipeline"]:
        if comp["name"] == "CountVectorsFeaturizer" and comp.get("analyzer") == "word":
            comp.update(min_ngram=1, max_ngram=2)
    _diet(config).update(epochs=150)
    return config


def big_diet(config: dict) -> dict:
    """Return a larger DIET: two transformer layers of 256, 150 epochs (more capacity)."""
    _diet(config).update(number_of_transformer_layers=2, transformer_size=256, epochs=150)
    return config


CANDIDATES = {"light": light, "no_transformer": no_transformer,
              "diet_entities": diet_entities, "wide_ngrams": wide_ngrams, "big_diet": big_diet}


class _Literal(str):
    """A string dumped as a YAML literal block (the Rasa examples format)."""


yaml.SafeDumper.add_representer(
    _Literal, lambda dumper, data: dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|"))


def plain_text(example: str) -> str:
    """Return a Rasa training example without its entity annotations."""
    text = re.sub(r"\[([^\]]*)\](\([^)]*\)|\{[^}]*\})", r"\1", example)
    return text.strip()


def example_lines(block: str) -> list[str]:
    return [line.strip()[2:] for line in block.splitlines() if line.strip().startswith("- ")]


def training_examples(data_dir: Path = ROOT / "nlu" / "data") -> list[tuple[str, str, str]]:
    """Return (file, intent, annotated example) for every intent example under `data_dir`."""
    found = []
    for path in sorted(data_dir.rglob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in doc.get("nlu") or []:
            if "intent" in item:
                found += [(path.name, item["intent"], ex) for ex in example_lines(item["examples"])]
    return found


def fold_of(examples: list[tuple[str, str, str]], folds: int) -> dict[str, int]:
    """Assign each example to a fold, stratified by intent, with a fixed seed."""
    by_intent: dict[str, list[str]] = {}
    for _file, intent, ex in examples:
        by_intent.setdefault(intent, []).append(ex)
    assignment = {}
    rng = random.Random(SEED)
    for intent in sorted(by_intent):
        items = sorted(by_intent[intent])
        rng.shuffle(items)
        for i, ex in enumerate(items):
            assignment[ex] = i % folds
    return assignment


def make_root(config: dict, keep=lambda ex: True) -> Path:
    """Build a throw-away project root: config, nlu/data filtered by `keep`, the NLU venv link."""
    root = Path(tempfile.mkdtemp(prefix="nlu-bench-"))
    (root / "config.yml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    src = ROOT / "nlu" / "data"
    for path in sorted(src.rglob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in doc.get("nlu") or []:
            if "intent" in item:
                kept = [ex for ex in example_lines(item["examples"]) if keep(ex)]
                item["examples"] = _Literal("".join(f"- {ex}\n" for ex in kept))
            elif "examples" in item:
                item["examples"] = _Literal(item["examples"])
        doc["nlu"] = [i for i in doc.get("nlu") or [] if "intent" not in i or i["examples"]]
        target = root / "nlu" / "data" / path.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    (root / ".venv-nlu").symlink_to(ROOT / ".venv-nlu")
    return root


def train_and_serve(root: Path):
    """Train in `root` and start its server; return (server, training seconds)."""
    started = time.monotonic()
    model = train(root=root, echo=lambda line: None)
    seconds = time.monotonic() - started
    server = RasaServer(model=model, root=root)
    server.start()
    server.wait_ready()
    return server, seconds


def macro_f1(pairs: list[tuple[str, str]]) -> float:
    intents = sorted({gold for gold, _ in pairs})
    scores = []
    for intent in intents:
        tp = sum(g == p == intent for g, p in pairs)
        pred = sum(p == intent for _, p in pairs)
        gold = sum(g == intent for g, _ in pairs)
        prec, rec = (tp / pred if pred else 0.0), (tp / gold if gold else 0.0)
        scores.append(2 * prec * rec / (prec + rec) if prec + rec else 0.0)
    return sum(scores) / len(scores)


def cross_validate(config: dict, folds: int) -> list[dict]:
    """Return one prediction per training example: {gold, intent, confidence, rule}."""
    examples = training_examples()
    assignment = fold_of(examples, folds)
    predictions = []
    for fold in range(folds):
        root = make_root(copy.deepcopy(config), keep=lambda ex, f=fold: assignment[ex] != f)
        server, _ = train_and_serve(root)
        try:
            with RasaClient(server.url, timeout=10) as client:
                for _file, intent, ex in examples:
                    if assignment[ex] != fold:
                        continue
                    text = plain_text(ex)
                    result = client.parse(text)
                    predictions.append({"gold": intent, "text": text,
                                        "intent": result["intent"]["name"],
                                        "confidence": result["intent"]["confidence"],
                                        "rule": rules.match(text) is not None})
        finally:
            server.stop()
            shutil.rmtree(root, ignore_errors=True)
        print(f"    fold {fold + 1}/{folds} done", file=sys.stderr)
    return predictions


def threshold_table(predictions: list[dict]) -> list[str]:
    """Accuracy of answered messages and coverage at each threshold (model-only messages)."""
    model_only = [p for p in predictions if not p["rule"]]
    lines = [f"{'threshold':>9} {'coverage':>9} {'acc answered':>13} {'wrong answered':>15}"]
    for th in THRESHOLDS:
        answered = [p for p in model_only if p["confidence"] >= th]
        right = sum(p["gold"] == p["intent"] for p in answered)
        lines.append(f"{th:>9.2f} {len(answered) / len(model_only):>9.3f} "
                     f"{(right / len(answered) if answered else 0):>13.3f} "
                     f"{len(answered) - right:>15}")
    return lines


def run(name: str, folds: int, heldout: bool) -> dict:
    """Measure one candidate pipeline; return its row of figures."""
    base = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    config = CANDIDATES[name](copy.deepcopy(base))
    row: dict = {"pipeline": name}
    print(f"== {name}", file=sys.stderr)
    if folds > 1:
        preds = cross_validate(config, folds)
        pairs = [(p["gold"], p["intent"]) for p in preds]
        row.update(cv_accuracy=sum(g == p for g, p in pairs) / len(pairs), cv_macro_f1=macro_f1(pairs),
                   cv_predictions=preds)
    if heldout:
        root = make_root(copy.deepcopy(config))
        server, seconds = train_and_serve(root)
        try:
            row.update(train_s=seconds, startup_s=server.startup_seconds,
                       rss_mb=(server.rss_bytes() or 0) / 2**20)
            with RasaClient(server.url, timeout=10) as client:
                reports: list[Report] = [evaluate(Classifier(client), load_cases(path), path.name)
                                         for path in HELDOUT_FILES]
            first, second = reports[0], reports[1]
            row.update({k: v for k, v in first.as_dict().items()
                        if k not in ("confusions", "gbv_false_alarms", "set")})
            row.update(ho2_accuracy=second.accuracy, ho2_macro_f1=second.macro_f1,
                       recall_gbv_support=min(r.recall("gbv_support") for r in reports),
                       recall_opt_out=min(r.recall("opt_out") for r in reports),
                       gbv_false_alarms=max(r.false_alarm_rate() for r in reports),
                       price_product_accuracy=min(r.entity_accuracy("product")[0] for r in reports),
                       price_location_accuracy=min(r.entity_accuracy("location")[0] for r in reports))
        finally:
            server.stop()
            shutil.rmtree(root, ignore_errors=True)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--only", default=",".join(CANDIDATES), help="comma-separated candidates")
    parser.add_argument("--skip-heldout", action="store_true")
    args = parser.parse_args()
    rows = [run(name, args.folds, not args.skip_heldout) for name in args.only.split(",")]
    cols = [("pipeline", "{:<15}"), ("cv_accuracy", "{:>8.3f}"), ("cv_macro_f1", "{:>8.3f}"),
            ("intent_accuracy", "{:>8.3f}"), ("ho2_accuracy", "{:>8.3f}"),
            ("recall_gbv_support", "{:>8.3f}"), ("recall_opt_out", "{:>8.3f}"),
            ("gbv_false_alarms", "{:>8.3f}"),
            ("price_product_accuracy", "{:>8.3f}"), ("price_location_accuracy", "{:>8.3f}"),
            ("train_s", "{:>8.1f}"), ("startup_s", "{:>8.1f}"), ("rss_mb", "{:>8.0f}")]
    # ho_acc/ho2_acc: the two held-out sets; recalls, entity accuracy: the lower of the
    # two sets; gbv_FA: the higher false-alarm rate of the two.
    heads = ["pipeline", "cv_acc", "cv_mF1", "ho_acc", "ho2_acc", "gbv_rec", "out_rec", "gbv_FA",
             "product", "location", "train_s", "start_s", "rss_MB"]
    print(f"{heads[0]:<15}" + "".join(f"{h:>9}" for h in heads[1:]))
    for row in rows:
        cells = [(fmt.format(row[key]) if key in row else f"{'-':>8}") for key, fmt in cols]
        print(cells[0] + " " + " ".join(cells[1:]))
    if rows and "cv_predictions" in rows[0]:
        print(f"\nConfidence threshold ({rows[0]['pipeline']}, {args.folds}-fold CV predictions, "
              "messages the rules do not catch):")
        print("\n".join(threshold_table(rows[0]["cv_predictions"])))
        errors = Counter((p["gold"], p["intent"]) for p in rows[0]["cv_predictions"]
                         if p["gold"] != p["intent"])
        print("CV confusion pairs: " + ", ".join(f"{g}->{p} {n}" for (g, p), n in errors.most_common(10)))
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / "nlu_pipelines.json").write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
