"""Grid of z-score fusion weights on XQuAD (TR, EN) and the sample KB (with and without its
alternate questions): recall@1 of each weighting, one line each.

Uses the signals and embedding cache of bench/kb_signals.py (run that first for the dense
models you name). The weights kb_index uses (kb_index/ranking.py DEFAULT_FUSION) and its
stemmer (`auto`) were chosen from this grid (docs/retrieval-eval.md). Run:

    .venv/bin/python bench/kb_fusion_grid.py --model multilingual-e5-small-q4
"""

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import kb_signals as ks  # noqa: E402

from language.fold import fold  # noqa: E402


def char_entries(docs: list[dict], queries: list[str], lang: str) -> np.ndarray:
    """Character 3–5-gram cosine, best entry (title, question, passage) of each article, as kb_index does."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    entries = [(i, t) for i, d in enumerate(docs) for t in ks.entry_texts(d, lang)]
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
    matrix = vectorizer.fit_transform([fold(t) for _, t in entries])
    scores = (vectorizer.transform([fold(q) for q in queries]) @ matrix.T).toarray()
    owners = np.array([i for i, _ in entries])
    return np.column_stack([scores[:, owners == j].max(axis=1) for j in range(len(docs))])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--xquad", default=str(ROOT.parent / "shared/eval/xquad"))
    parser.add_argument("--cache", default=str(ROOT / "var/kb-signals"))
    parser.add_argument("--model", default="multilingual-e5-small-q4")
    args = parser.parse_args()
    cache = Path(args.cache)
    sets = {"xquad": ks.xquad_sets(Path(args.xquad)), "sample": ks.sample_kb(True), "sample-noq": ks.sample_kb(False)}
    data = {}
    for tag, per in sets.items():
        for lang, (docs, qs) in per.items():
            if not (cache / f"{tag}-{lang}-{args.model}.npz").exists():
                print(f"skipped {tag}-{lang}: no cached {args.model} embeddings (run bench/kb_signals.py)", file=sys.stderr)
                continue
            texts = [d["title"] + "\n" + "\n".join(d["questions"]) + "\n" + d["body"] for d in docs]
            queries = [q for q, _ in qs]
            tokenizers = ks.tokenizers(lang)
            dense, _ = ks.dense_scores(args.model, docs, queries, lang, cache, tag)
            data[f"{tag}-{lang}"] = (
                {
                    "prefix5": ks.bm25_scores(texts, queries, tokenizers["prefix5"]),
                    "snowball": ks.bm25_scores(texts, queries, tokenizers["snowball"]),
                    "chars": char_entries(docs, queries, lang),
                    "dense": dense,
                },
                [g for _, g in qs],
            )
    print("words  chars dense  " + " ".join(f"{name:>13}" for name in data) + "   mean")
    for words, chars, dense in itertools.product(("prefix5", "snowball", "auto"), (0.0, 0.5, 1.0), (0.0, 1.0, 1.5, 2.0, 3.0)):
        cells = []
        for name, (signals, gold) in data.items():
            stem = words if words != "auto" else ("prefix5" if name.endswith("-tr") else "snowball")
            fused = ks.zscore(signals[stem]) + chars * ks.zscore(signals["chars"]) + dense * ks.zscore(signals["dense"])
            cells.append(ks.metrics(fused, gold)[0])
        print(f"{words:8} {chars:4} {dense:4}  " + " ".join(f"{c:13.3f}" for c in cells) + f"  {np.mean(cells):.4f}")


if __name__ == "__main__":
    main()
