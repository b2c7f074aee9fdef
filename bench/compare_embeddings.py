"""Build the sample KB with each embedding set-up and evaluate it on the labelled queries.

Usage: .venv/bin/python bench/compare_embeddings.py [--out var/compare] [--models a,b,…]
Prints a Markdown table (the "Embedding set-ups" table of docs/benchmarks.md comes from here).
"""

import argparse
import sys
from pathlib import Path

from kb_index.build import BuildSettings, build_index
from kb_index.evaluate import evaluate, load_queries
from kb_index.search import KnowledgeBase

SETUPS = ["none", "all-MiniLM-L6-v2", "use-multilingual-v3", "multilingual-e5-small-q4"]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", default="bot/data/kb")
    parser.add_argument("--queries", default="bot/data/kb_eval/queries.jsonl")
    parser.add_argument("--out", default="var/compare")
    parser.add_argument("--models", default=",".join(SETUPS))
    args = parser.parse_args()
    queries = load_queries(Path(args.queries))
    print("| set-up | R@1 tr | R@1 en | R@5 tr | R@5 en | MRR | false answers | build s |")
    print("|---|---|---|---|---|---|---|---|")
    for model in args.models.split(","):
        out = Path(args.out) / model
        report = build_index(Path(args.source), out, BuildSettings(model=model), progress=False)
        result = evaluate(KnowledgeBase.open(out), queries)
        tr, en = result["by_lang"]["tr"], result["by_lang"]["en"]
        label = "char n-grams only" if model == "none" else f"{model} + char n-grams"
        print(
            f"| {label} | {tr['recall@1']:.3f} | {en['recall@1']:.3f} | {tr['recall@5']:.3f} | {en['recall@5']:.3f} "
            f"| {result['mrr']:.3f} | {result['false_answer_rate']:.3f} | {report.seconds:.0f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
