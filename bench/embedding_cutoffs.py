"""Similarity cut-offs per embedding model, measured on public paraphrase data (feedback demotion, answer mining).

    .venv/bin/python bench/embedding_cutoffs.py [--models a,b] [--intents 25] [--per-intent 8] [--seed 13]

Questions of the same intent count as "the same question", questions of different intents as
different ones (pairs are only formed inside one data set). Cut-offs are CHOSEN on the dev sets
(BANKING77, CLINC150, HWU64 test splits, EN) and REPORTED on every set, including the held-out
ones: Bitext customer service (EN, the closest to Destek's domain) and two Turkish sets.

Destek's held-out sets: its Turkish NLU examples (bot/data/nlu/tr.yml without the catch-all `faq`
and `out_of_scope`) and its Turkish KB questions (title + alternate questions, one article = one
kind of question).

- same question (feedback demotion, cosine of two query vectors): the lowest cut whose false-match
  rate on the dev pairs (different intents at or above the cut) is <= --max-fpr; printed with the
  true-match rate (recall), the false-match rate and precision at each set's own mix of pairs.
  Beside it, a model-independent neighbour rule for comparison: two questions match when their
  cosine beats the question's k-th nearest neighbour among a fixed background of other-domain
  questions (one k for every model, chosen on dev at the same false-match budget).
- group distance (answer mining, average-linkage agglomerative clustering on cosine distance, as
  learning/mining.py): the cut with the best mean pairwise F0.5 (same cluster = same intent;
  precision weighs more: a mixed group becomes a wrong draft article, a split one only a second
  suggestion) over the dev sets; printed with pairwise precision/recall/F1 per set, and whether the synthetic month
  of tests/learning/fixture.py (questions AND agents' answers, as mining groups them) comes out
  as its topics at that cut.

The last table compares the measured cut-offs with kb_index/similarity.py's table.
Embeddings are cached in var/bench-cutoffs/ (delete it to re-embed).
"""

import argparse
import csv
import hashlib
import json
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb_index.embedders import load_embedder  # noqa: E402
from kb_index.similarity import MEASURED, SimilarityCutoffs  # noqa: E402
from learning.mining import char_ngram_encoder  # noqa: E402

MODELS = ["use-multilingual-v3", "multilingual-e5-small-q4", "all-MiniLM-L6-v2", "none"]
DEV = ("banking77", "clinc150", "hwu64")
SIMILARITY_GRID = np.round(np.arange(0.05, 1.0, 0.01), 2)
DISTANCE_GRID = np.round(np.arange(0.05, 1.0, 0.01), 2)
NEIGHBOUR_GRID = (1, 2, 3, 5, 8, 13, 20, 30, 50)


@dataclass
class Sample:
    name: str
    texts: list[str]
    labels: list[str]


def _rows(path: Path, text: str, label: str) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [(row[text], row[label]) for row in csv.DictReader(handle)]


def _nlu_rows(path: Path) -> list[tuple[str, str]]:
    """Intent examples; the catch-all intents (`faq`, `out_of_scope`) are left out: their examples are not one question."""
    import yaml

    rows = []
    for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
        if "intent" in block and block["intent"] not in ("faq", "out_of_scope"):
            rows += [(line[2:].strip(), block["intent"]) for line in block["examples"].splitlines() if line.startswith("- ")]
    return rows


def _kb_rows(lang: str) -> list[tuple[str, str]]:
    """The sample KB's titles and alternate questions, one article = one kind of question."""
    from kb_index.articles import load_articles

    return [
        (text, article.id)
        for article in load_articles(ROOT / "bot" / "data" / "kb")
        if article.lang == lang
        for text in (article.title, *article.questions)
    ]


def load_samples(eval_dir: Path, intents: int, per_intent: int, seed: int) -> list[Sample]:
    clinc = json.loads((eval_dir / "clinc150" / "data_full.json").read_text(encoding="utf-8"))["test"]
    sources = {
        "banking77": _rows(eval_dir / "banking77" / "test.csv", "text", "category"),
        "clinc150": [(text, label) for text, label in clinc],
        "hwu64": _rows(eval_dir / "hwu64" / "test.csv", "text", "category"),
        "bitext (held out)": _rows(eval_dir / "bitext" / "test.csv", "utterance", "intent"),
        "destek-nlu-tr (held out)": _nlu_rows(ROOT / "bot" / "data" / "nlu" / "tr.yml"),
        "destek-kb-tr (held out)": _kb_rows("tr"),
    }
    samples = []
    for name, rows in sources.items():
        rng = random.Random(f"{seed}:{name}")
        by_label: dict[str, list[str]] = {}
        for text, label in rows:
            if text.strip() and text not in by_label.get(label, []):
                by_label.setdefault(label, []).append(text)
        labels = sorted(label for label, texts in by_label.items() if len(texts) >= 3)
        chosen = sorted(rng.sample(labels, min(intents, len(labels))))
        texts, tags = [], []
        for label in chosen:
            picked = rng.sample(by_label[label], min(per_intent, len(by_label[label])))
            texts += picked
            tags += [label] * len(picked)
        samples.append(Sample(name, texts, tags))
    return samples


def embed(model: str, texts: Sequence[str]) -> np.ndarray:
    cache = ROOT / "var" / "bench-cutoffs" / f"{model}-{hashlib.sha256(json.dumps(list(texts)).encode()).hexdigest()[:16]}.npy"
    if cache.is_file():
        return np.asarray(np.load(cache))
    embedder = load_embedder(model)
    vectors = char_ngram_encoder()(texts) if embedder is None else embedder.encode(list(texts), queries=True)
    vectors = np.asarray(vectors, dtype=np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, vectors)
    return vectors


def pair_cosines(vectors: np.ndarray, labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Cosines of same-label pairs and of different-label pairs (each unordered pair once)."""
    tags = np.asarray(labels)
    upper = np.triu_indices(len(tags), k=1)
    cosines = (vectors @ vectors.T)[upper]
    same = tags[upper[0]] == tags[upper[1]]
    return cosines[same], cosines[~same]


def pair_rates(same: np.ndarray, different: np.ndarray, cut: float) -> tuple[float, float, float]:
    """Recall (true-match rate), false-match rate and precision of `cosine >= cut`."""
    tp, fp = int((same >= cut).sum()), int((different >= cut).sum())
    return tp / max(1, len(same)), fp / max(1, len(different)), tp / max(1, tp + fp)


def neighbour_rule(vectors: np.ndarray, labels: Sequence[str], background: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Matches of the neighbour rule: cos(q, v) > cos(q, k-th nearest background question), both directions."""
    kth = np.sort(vectors @ background.T, axis=1)[:, -k]
    cosines = vectors @ vectors.T
    tags = np.asarray(labels)
    upper = np.triu_indices(len(tags), k=1)
    match = (cosines > np.minimum(kth[:, None], kth[None, :]))[upper]  # either question sees the other above its background
    same = tags[upper[0]] == tags[upper[1]]
    return match[same], match[~same]


def average_linkage(vectors: np.ndarray) -> np.ndarray:
    """The average-linkage tree on cosine distance (what AgglomerativeClustering builds in learning/mining.py)."""
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import squareform

    distances = np.clip(1.0 - vectors @ vectors.T, 0.0, 2.0).astype(np.float64)
    np.fill_diagonal(distances, 0.0)
    return np.asarray(linkage(squareform(distances, checks=False), method="average"))


def cluster_scores(tree: np.ndarray, labels: Sequence[str], cut: float, beta: float = 1.0) -> tuple[float, float, float]:
    """Pairwise precision, recall, F-beta of the average-linkage clusters cut at cosine distance `cut`."""
    from scipy.cluster.hierarchy import fcluster

    clusters = fcluster(tree, t=cut - 1e-9, criterion="distance")  # sklearn merges below the threshold only
    tags = np.asarray(labels)
    upper = np.triu_indices(len(tags), k=1)
    together = clusters[upper[0]] == clusters[upper[1]]
    same = tags[upper[0]] == tags[upper[1]]
    tp = int((together & same).sum())
    precision, recall = tp / max(1, int(together.sum())), tp / max(1, int(same.sum()))
    return precision, recall, (1 + beta**2) * precision * recall / max(1e-12, beta**2 * precision + recall)


def synthetic_month_ok(model: str, cut: float) -> str:
    """Does the synthetic month (tests/learning/fixture.py) group as its topics at this cut, points as mining makes them?"""
    from sklearn.cluster import AgglomerativeClustering

    from tests.learning.fixture import ONE_OFF, topics

    rows = [
        (topic, language, question, answers[i % len(answers)])
        for topic, (language, questions, answers) in topics().items()
        for i, question in enumerate(questions)
    ]
    rows += [(f"one-off-{i}", language, question, answer) for i, (language, question, answer) in enumerate(ONE_OFF)]
    verdicts = []
    for language in ("en", "tr"):
        items = [row for row in rows if row[1] == language]
        questions, answers = embed(model, [r[2] for r in items]), embed(model, [r[3] for r in items])
        points = np.hstack([questions, answers]) / np.sqrt(2.0)
        found = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average", distance_threshold=cut).fit_predict(points)
        expected = [r[0] for r in items]
        same_partition = all((found[i] == found[j]) == (expected[i] == expected[j]) for i in range(len(items)) for j in range(len(items)))
        distances = 1 - points @ points.T
        inside = max(distances[i, j] for i in range(len(items)) for j in range(len(items)) if expected[i] == expected[j])
        between = min(distances[i, j] for i in range(len(items)) for j in range(len(items)) if expected[i] != expected[j])
        verdicts.append(f"{language} {'ok' if same_partition else 'WRONG'} (max within {inside:.2f}, min between {between:.2f})")
    return "; ".join(verdicts)


def measure(model: str, samples: list[Sample], max_fpr: float) -> tuple[SimilarityCutoffs, list[str]]:
    vectors = {s.name: embed(model, s.texts) for s in samples}
    dev = [s for s in samples if s.name in DEV]
    pairs = {s.name: pair_cosines(vectors[s.name], s.labels) for s in samples}
    dev_same = np.concatenate([pairs[s.name][0] for s in dev])
    dev_different = np.concatenate([pairs[s.name][1] for s in dev])
    similarity = float(next(c for c in SIMILARITY_GRID if pair_rates(dev_same, dev_different, c)[1] <= max_fpr))
    trees = {s.name: average_linkage(vectors[s.name]) for s in samples}
    f05 = {c: float(np.mean([cluster_scores(trees[s.name], s.labels, c, beta=0.5)[2] for s in dev])) for c in DISTANCE_GRID}
    distance = float(max(DISTANCE_GRID, key=lambda c: (f05[c], -c)))

    lines = [f"### {model}", "", f"same question: cosine >= {similarity:.2f} (dev false-match rate <= {max_fpr:.0%})", ""]
    lines += ["| set | pairs same/different | recall | false-match rate | precision |", "|---|---|---|---|---|"]
    for s in samples:
        same, different = pairs[s.name]
        recall, fpr, precision = pair_rates(same, different, similarity)
        lines.append(f"| {s.name} | {len(same)}/{len(different)} | {recall:.3f} | {fpr:.3f} | {precision:.3f} |")

    background_of = {
        s.name: np.vstack([vectors[o.name] for o in samples if o.name in DEV and o.name != s.name]) for s in samples
    }  # other-domain EN questions: what a question is compared with to tell "near" from "far"
    k_fpr = {}
    for k in NEIGHBOUR_GRID:
        matches = [neighbour_rule(vectors[s.name], s.labels, background_of[s.name], k) for s in dev]
        k_fpr[k] = float(np.concatenate([m[1] for m in matches]).mean())
    k = min((k for k in NEIGHBOUR_GRID if k_fpr[k] <= max_fpr), default=NEIGHBOUR_GRID[0], key=lambda k: -k)
    met = "" if k_fpr[k] <= max_fpr else f" (no k meets the budget on dev: {k_fpr[k]:.3f} at the strictest)"
    lines += ["", f"neighbour rule (model-independent), k = {k}{met}; recall / false-match rate per set:"]
    cells = []
    for s in samples:
        same_match, different_match = neighbour_rule(vectors[s.name], s.labels, background_of[s.name], k)
        cells.append(f"{s.name} {same_match.mean():.3f} / {different_match.mean():.3f}")
    lines.append("; ".join(cells))

    lines += ["", f"group distance: {distance:.2f} (best mean pairwise F0.5 on dev, {f05[distance]:.3f})", ""]
    lines += ["| set | intents × questions | precision | recall | F1 |", "|---|---|---|---|---|"]
    for s in samples:
        precision, recall, score = cluster_scores(trees[s.name], s.labels, distance)
        lines.append(
            f"| {s.name} | {len(set(s.labels))} × {len(s.texts) / len(set(s.labels)):.1f} | {precision:.3f} | {recall:.3f} | {score:.3f} |"
        )
    lines += ["", f"synthetic month (questions + agents' answers) at {distance:.2f}: {synthetic_month_ok(model, distance)}", ""]
    return SimilarityCutoffs(same_question=similarity, group_distance=distance), lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--eval-dir", default=str(ROOT.parent / "shared" / "eval"))
    parser.add_argument("--intents", type=int, default=25, help="intents sampled per data set")
    parser.add_argument("--per-intent", type=int, default=8, help="questions sampled per intent")
    parser.add_argument("--max-fpr", type=float, default=0.01, help="false-match budget of the same-question cut")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    samples = load_samples(Path(args.eval_dir), args.intents, args.per_intent, args.seed)
    print(f"sets: {', '.join(f'{s.name} {len(s.texts)}' for s in samples)} (seed {args.seed})\n")
    measured = {}
    for model in args.models.split(","):
        measured[model], lines = measure(model, samples, args.max_fpr)
        print("\n".join(lines), flush=True)
    print("| model | same question (measured / kb_index.similarity) | group distance (measured / kb_index.similarity) |")
    print("|---|---|---|")
    for model, cut in measured.items():
        table = MEASURED.get(model)
        shown = (f"{table.same_question:.2f}", f"{table.group_distance:.2f}") if table else ("—", "—")
        print(f"| {model} | {cut.same_question:.2f} / {shown[0]} | {cut.group_distance:.2f} / {shown[1]} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
