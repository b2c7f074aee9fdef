"""`make bench-nlu`: the project's NLU pipeline (config.yml) on public intent benchmarks.

Run with the Rasa interpreter (.venv-rasa). For each dataset in /work/shared/eval (official
train/test splits only) it writes the training split as Rasa NLU YAML under var/nlu-bench/,
trains an NLU-only model with config.yml's pipeline, parses every test example with the
trained model and reports accuracy (CLINC150: in-scope accuracy on `test`, out-of-scope recall
on `oos_test`). CLINC150's `oos_train` split is trained as an ordinary intent named `oos`
(Larson et al.'s "oos-train" setting); a test query counts as out-of-scope when the model
predicts `oos` or the FallbackClassifier fires (confidence below its threshold).

Closed-set accuracy (BANKING77, HWU64, Bitext) is the classifier's top intent, ignoring the
FallbackClassifier (these benchmarks have no out-of-scope queries).
"""

import argparse
import asyncio
import csv
import json
import logging
import os
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tuning.fallback_threshold import IN_SCOPE_BUDGET, highest_threshold_within_budget  # noqa: E402

EVAL_DIR = Path(os.environ.get("DESTEK_EVAL_DIR", "/work/shared/eval"))
OOS = "oos"
FALLBACK = "nlu_fallback"

Example = tuple[str, str]


def read_csv(path: Path, text_field: str, label_field: str) -> list[Example]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [(row[text_field].strip(), row[label_field].strip()) for row in csv.DictReader(handle)]


def load_dataset(name: str) -> dict[str, list[Example]]:
    """The dataset's official splits: always `train` and `test`; CLINC150 adds `oos_test`, `val`, `oos_val`."""
    folder = EVAL_DIR / name
    if name in ("banking77", "hwu64"):
        return {split: read_csv(folder / f"{split}.csv", "text", "category") for split in ("train", "test")}
    if name == "bitext":
        return {split: read_csv(folder / f"{split}.csv", "utterance", "intent") for split in ("train", "test")}
    if name == "clinc150":
        data = json.loads((folder / "data_full.json").read_text(encoding="utf-8"))
        return {
            "train": [(t, i) for t, i in data["train"]] + [(t, OOS) for t, _ in data["oos_train"]],
            "test": [(t, i) for t, i in data["test"]],
            "oos_test": [(t, OOS) for t, _ in data["oos_test"]],
            # Only for choosing a fallback threshold (never trained on).
            "val": [(t, i) for t, i in data["val"]],
            "oos_val": [(t, OOS) for t, _ in data["oos_val"]],
        }
    raise SystemExit(f"unknown dataset {name!r}: use banking77, clinc150, bitext or hwu64")


def write_nlu_yaml(examples: list[Example], path: Path) -> None:
    """Rasa NLU YAML, one block per intent (texts with `[` are skipped: Rasa reads them as entities)."""
    by_intent: dict[str, list[str]] = defaultdict(list)
    for text, intent in examples:
        if text and "[" not in text:
            by_intent[intent].append(" ".join(text.split()))
    blocks = [{"intent": intent, "examples": "".join(f"- {t}\n" for t in texts)} for intent, texts in sorted(by_intent.items())]

    class Literal(str):
        pass

    class Dumper(yaml.SafeDumper):
        pass

    Dumper.add_representer(Literal, lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", s, style="|"))
    for block in blocks:
        block["examples"] = Literal(block["examples"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.dump({"version": "3.1", "nlu": blocks}, Dumper=Dumper, allow_unicode=True, sort_keys=False), encoding="utf-8")


def nlu_config(project_config: Path, out: Path, epochs: int | None) -> dict[str, Any]:
    """config.yml's pipeline without the dialogue policies (optionally another DIET epoch count)."""
    config = yaml.safe_load(project_config.read_text(encoding="utf-8"))
    pipeline = config["pipeline"]
    if epochs is not None:
        for component in pipeline:
            if component["name"] == "DIETClassifier":
                component["epochs"] = epochs
    nlu_only = {
        "recipe": config.get("recipe", "default.v1"),
        "language": config.get("language", "en"),
        "pipeline": pipeline,
        "policies": [],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(nlu_only, sort_keys=False), encoding="utf-8")
    return nlu_only


def fallback_thresholds(pipeline: list[dict[str, Any]]) -> tuple[float, float]:
    for component in pipeline:
        if component["name"] == "FallbackClassifier":
            return float(component.get("threshold", 0.3)), float(component.get("ambiguity_threshold", 0.1))
    return 0.0, 0.0


def train(config_path: Path, data_path: Path, model_dir: Path, name: str) -> Path:
    from rasa.model_training import train_nlu

    model = train_nlu(config=str(config_path), nlu_data=str(data_path), output=str(model_dir), fixed_model_name=name)
    if not model:
        raise SystemExit(f"training failed for {data_path}")
    return Path(model)


async def predict(model_path: Path, texts: list[str]) -> list[list[tuple[str, float]]]:
    """Each text's intent ranking without `nlu_fallback`: [(intent, confidence), ...] best first."""
    from rasa.core.agent import Agent

    agent = Agent.load(str(model_path))
    rankings = []
    for text in texts:
        parsed = await agent.parse_message(text)
        ranking = [(r["name"], float(r["confidence"])) for r in parsed.get("intent_ranking", []) if r["name"] != FALLBACK]
        rankings.append(ranking or [("", 0.0)])
    return rankings


def falls_back(ranking: list[tuple[str, float]], threshold: float, ambiguity: float) -> bool:
    """The FallbackClassifier's rule: top confidence below threshold, or top two too close."""
    top = ranking[0][1]
    second = ranking[1][1] if len(ranking) > 1 else 0.0
    return top < threshold or (top - second) < ambiguity


def score(
    name: str, splits: dict[str, list[Example]], rankings: dict[str, list[list[tuple[str, float]]]], threshold: float, ambiguity: float
) -> dict[str, Any]:
    test = splits["test"]
    top = [r[0][0] for r in rankings["test"]]
    result: dict[str, Any] = {"dataset": name, "n_train": len(splits["train"]), "n_test": len(test)}
    if name != "clinc150":
        result["accuracy"] = sum(p == g for p, (_, g) in zip(top, test, strict=True)) / len(test)
        return result
    in_scope, oos = clinc_scores(test, rankings["test"], rankings["oos_test"], threshold, ambiguity)
    tuned = tune_threshold(splits["val"], rankings["val"], rankings["oos_val"])
    tuned_in_scope, tuned_oos = clinc_scores(test, rankings["test"], rankings["oos_test"], tuned, 0.0)
    result.update(
        {
            "n_oos_test": len(rankings["oos_test"]),
            "in_scope_accuracy": in_scope,
            "oos_recall": oos,
            "fallback_threshold": threshold,
            "ambiguity_threshold": ambiguity,
            "in_scope_accuracy_no_fallback": sum(p == g for p, (_, g) in zip(top, test, strict=True)) / len(test),
            "oos_recall_oos_intent_only": sum(r[0][0] == OOS for r in rankings["oos_test"]) / len(rankings["oos_test"]),
            "val_tuned_threshold": tuned,
            "in_scope_accuracy_val_tuned": tuned_in_scope,
            "oos_recall_val_tuned": tuned_oos,
        }
    )
    return result


def clinc_scores(in_scope: list[Example], in_rankings: list, oos_rankings: list, threshold: float, ambiguity: float) -> tuple[float, float]:
    """(in-scope accuracy, out-of-scope recall); a fallback counts as an out-of-scope prediction."""
    correct = [(r[0][0] == gold and not falls_back(r, threshold, ambiguity)) for r, (_, gold) in zip(in_rankings, in_scope, strict=True)]
    detected = [(r[0][0] == OOS or falls_back(r, threshold, ambiguity)) for r in oos_rankings]
    return sum(correct) / len(correct), sum(detected) / len(detected)


def tune_threshold(val: list[Example], val_rankings: list, oos_val_rankings: list, budget: float = IN_SCOPE_BUDGET) -> float:
    """The threshold chosen on `val`'s in-scope queries only (tuning/fallback_threshold.py explains why)."""
    return highest_threshold_within_budget(lambda t: clinc_scores(val, val_rankings, oos_val_rankings, t, 0.0)[0], budget)


def run(name: str, args: argparse.Namespace) -> dict[str, Any]:
    work = Path(args.out) / name
    splits = load_dataset(name)
    data_path = work / "train.yml"
    write_nlu_yaml(splits["train"], data_path)
    config_path = work / f"config-{args.tag}.yml"
    config = nlu_config(Path(args.config), config_path, args.epochs)
    threshold, ambiguity = fallback_thresholds(config["pipeline"])

    started = time.monotonic()
    model = work / "models" / f"{args.tag}.tar.gz"
    if not (args.reuse_model and model.is_file()):
        model = train(config_path, data_path, work / "models", f"{args.tag}")
    train_seconds = time.monotonic() - started

    started = time.monotonic()
    rankings = {split: asyncio.run(predict(model, [t for t, _ in examples])) for split, examples in splits.items() if split != "train"}
    n_parsed = sum(len(r) for r in rankings.values())
    parse_ms = 1000 * (time.monotonic() - started) / max(1, n_parsed)

    with (work / f"predictions-{args.tag}.jsonl").open("w", encoding="utf-8") as handle:
        for split, split_rankings in rankings.items():
            for (text, gold), ranking in zip(splits[split], split_rankings, strict=True):
                handle.write(json.dumps({"split": split, "text": text, "gold": gold, "ranking": ranking[:3]}, ensure_ascii=False) + "\n")
    result = score(name, splits, rankings, threshold, ambiguity)
    result.update(
        {"config": args.config, "tag": args.tag, "train_seconds": round(train_seconds), "parse_ms_per_message": round(parse_ms, 1)}
    )
    (work / f"result-{args.tag}.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result


def table(results: list[dict[str, Any]]) -> str:
    lines = ["| dataset | train / test | result | train time | parse |", "|---|---|---|---|---|"]
    for r in results:
        if "accuracy" in r:
            metric = f"accuracy {100 * r['accuracy']:.2f} %"
        else:
            metric = (
                f"in-scope accuracy {100 * r['in_scope_accuracy']:.2f} %, oos recall {100 * r['oos_recall']:.1f} % (config threshold {r['fallback_threshold']}); "
                f"{100 * r['in_scope_accuracy_val_tuned']:.2f} % / {100 * r['oos_recall_val_tuned']:.1f} % (threshold {r['val_tuned_threshold']} chosen on val in-scope)"
            )
        n_test = r["n_test"] + r.get("n_oos_test", 0)
        lines.append(f"| {r['dataset']} | {r['n_train']} / {n_test} | {metric} | {r['train_seconds']} s | {r['parse_ms_per_message']} ms |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="*", default=["banking77", "clinc150", "bitext", "hwu64"])
    parser.add_argument("--config", default=str(ROOT / "config.yml"), help="Rasa config whose pipeline is benchmarked")
    parser.add_argument("--epochs", type=int, help="override DIETClassifier epochs")
    parser.add_argument("--tag", default="current", help="names the model, predictions and result files")
    parser.add_argument("--reuse-model", action="store_true", help="evaluate an already trained model of this tag (train time then 0)")
    parser.add_argument("--out", default=str(ROOT / "var" / "nlu-bench"))
    args = parser.parse_args()
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)
    results = []
    for name in args.datasets:
        results.append(run(name, args))
        print(json.dumps(results[-1]), flush=True)
    print(table(results))


if __name__ == "__main__":
    main()
