"""Retrieval signals side by side, and fusions of them, on XQuAD (TR, EN) and the sample KB.

The exploration behind kb_index's defaults (docs/retrieval-eval.md): each signal is scored
for every (query, article) pair once; embeddings are cached in --cache so that fusion
variants cost nothing to try. Run:

    .venv/bin/python bench/kb_signals.py [--xquad ../shared/eval/xquad] [--cache var/kb-signals]
"""

import argparse
import json
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb_index.chunking import split_passages  # noqa: E402
from kb_index.public_eval import load_xquad  # noqa: E402
from language.fold import fold, turkish_lower  # noqa: E402

_WORD = re.compile(r"\w+")


def sample_kb(with_questions: bool) -> tuple[dict, dict]:
    from kb_index.articles import load_articles

    articles = load_articles(ROOT / "bot/data/kb")
    queries = [json.loads(line) for line in (ROOT / "bot/data/kb_eval/queries.jsonl").read_text().splitlines() if line.strip()]
    sets: dict = {}
    for lang in ("tr", "en"):
        arts = [a for a in articles if a.lang == lang]
        docs = [{"id": a.id, "title": a.title, "body": a.body, "questions": list(a.questions) if with_questions else []} for a in arts]
        ids = {a.id: i for i, a in enumerate(arts)}
        qs = [(q["query"], ids.get(q["expected_id"]) if q["expected_id"] else None) for q in queries if q["lang"] == lang]
        sets[lang] = (docs, qs)
    return sets


def xquad_sets(folder: Path) -> dict:
    sets = {}
    for lang in ("tr", "en"):
        articles, queries = load_xquad(folder, lang)
        ids = {a["id"]: i for i, a in enumerate(articles)}
        docs = [{"id": a["id"], "title": a["title"], "body": a["body"], "questions": []} for a in articles]
        sets[lang] = (docs, [(q["query"], ids[q["expected_id"]]) for q in queries])
    return sets


def tokenizers(lang: str) -> dict[str, Callable[[str], list[str]]]:
    import Stemmer

    stemmer = Stemmer.Stemmer("turkish" if lang == "tr" else "english")
    return {
        "word": lambda t: _WORD.findall(fold(t)),
        "prefix5": lambda t: [w[:5] for w in _WORD.findall(fold(t))],
        "snowball": lambda t: [fold(s) for s in stemmer.stemWords(_WORD.findall(turkish_lower(t)))],
        "snowball+prefix5": lambda t: [fold(s)[:5] for s in stemmer.stemWords(_WORD.findall(turkish_lower(t)))],
    }


def bm25_scores(docs: list[str], queries: list[str], tokenize: Callable[[str], list[str]]) -> np.ndarray:
    import bm25s

    model = bm25s.BM25(k1=1.5, b=0.75)
    model.index([tokenize(d) or [""] for d in docs], show_progress=False)
    vocab = model.vocab_dict
    rows = []
    for q in queries:
        tokens = [t for t in tokenize(q) if t in vocab]
        rows.append(model.get_scores(tokens) if tokens else np.zeros(len(docs)))
    return np.array(rows, dtype=np.float32)


def char_scores(docs: list[str], queries: list[str]) -> np.ndarray:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
    m = vec.fit_transform([fold(d) for d in docs])
    return (vec.transform([fold(q) for q in queries]) @ m.T).toarray().astype(np.float32)


def entry_texts(doc: dict, lang: str) -> list[str]:
    return [doc["title"], *doc["questions"], *split_passages(doc["body"], lang, 80)]


def dense_scores(name: str, docs: list[dict], queries: list[str], lang: str, cache: Path, tag: str) -> tuple[np.ndarray, np.ndarray]:
    """(entry-max, whole-article) cosine per query and article."""
    from kb_index.embedders import load_embedder

    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"{tag}-{lang}-{name}.npz"
    entries = [(i, t) for i, d in enumerate(docs) for t in entry_texts(d, lang)]
    whole = [d["title"] + "\n" + d["body"] for d in docs]
    if path.exists():
        data = np.load(path)
        ev, wv, qv = data["e"], data["w"], data["q"]
    else:
        emb = load_embedder(name)
        ev = emb.encode([t for _, t in entries], queries=False)
        wv = emb.encode(whole, queries=False)
        started = time.perf_counter()
        qv = emb.encode(queries, queries=True, batch_size=1)
        print(f"  {name} {lang}: {1000 * (time.perf_counter() - started) / len(queries):.1f} ms a query (batch 1)", file=sys.stderr)
        np.savez(path, e=ev, w=wv, q=qv)
    if len(ev) != len(entries):  # cached before a chunking change: whole articles only
        return qv @ wv.T, qv @ wv.T
    owners = np.array([i for i, _ in entries])
    sims = qv @ ev.T
    emax = np.full((len(queries), len(docs)), -1.0, dtype=np.float32)
    for j in range(len(docs)):
        emax[:, j] = sims[:, owners == j].max(axis=1)
    return emax, qv @ wv.T


def zscore(m: np.ndarray) -> np.ndarray:
    return (m - m.mean(axis=1, keepdims=True)) / (m.std(axis=1, keepdims=True) + 1e-9)


def metrics(scores: np.ndarray, gold: list) -> tuple[float, float, float]:
    rows = [i for i, g in enumerate(gold) if g is not None]
    order = np.argsort(-scores[rows], axis=1, kind="stable")
    ranks = np.array([np.flatnonzero(order[k] == gold[i])[0] + 1 for k, i in enumerate(rows)])
    return float((ranks == 1).mean()), float((ranks <= 5).mean()), float(np.where(ranks <= 5, 1.0 / ranks, 0).mean())


def signals_for(sets: dict, cache: Path, tag: str, models: list[str]) -> dict:
    out = {}
    for lang, (docs, qs) in sets.items():
        texts = [d["title"] + "\n" + "\n".join(d["questions"]) + "\n" + d["body"] for d in docs]
        queries = [q for q, _ in qs]
        sig = {"char": char_scores(texts, queries)}
        for name, tok in tokenizers(lang).items():
            sig[f"bm25-{name}"] = bm25_scores(texts, queries, tok)
        for model in models:
            emax, whole = dense_scores(model, docs, queries, lang, cache, tag)
            sig[f"{model}-entry"], sig[f"{model}-whole"] = emax, whole
        out[lang] = (sig, [g for _, g in qs])
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--xquad", default=str(ROOT.parent / "shared/eval/xquad"))
    parser.add_argument("--cache", default=str(ROOT / "var/kb-signals"))
    parser.add_argument("--models", default="use-multilingual-v3,multilingual-e5-small-q4")
    args = parser.parse_args()
    models = args.models.split(",")
    cache = Path(args.cache)
    data = {
        "xquad": signals_for(xquad_sets(Path(args.xquad)), cache, "xquad", models),
        "sample": signals_for(sample_kb(True), cache, "sample", models),
        "sample-noq": signals_for(sample_kb(False), cache, "sample-noq", models),
    }
    print(f"{'set':22} " + " ".join(f"{name:>9}" for name in ("R@1", "R@5", "MRR@5")))
    names = list(next(iter(data["xquad"].values()))[0])
    for name in names:
        for tag, per in data.items():
            for lang, (sig, gold) in per.items():
                print(f"{name:28} {tag:10} {lang} " + " ".join(f"{v:9.3f}" for v in metrics(sig[name], gold)))
    fusions = {
        "z prefix5+2e5": {"bm25-prefix5": 1, "multilingual-e5-small-q4-entry": 2},
        "z prefix5+char+2e5": {"bm25-prefix5": 1, "char": 1, "multilingual-e5-small-q4-entry": 2},
        "z snow+char+2e5": {"bm25-snowball": 1, "char": 1, "multilingual-e5-small-q4-entry": 2},
        "z prefix5+char+e5": {"bm25-prefix5": 1, "char": 1, "multilingual-e5-small-q4-entry": 1},
        "z prefix5+char+e5e+e5w": {"bm25-prefix5": 1, "char": 1, "multilingual-e5-small-q4-entry": 1, "multilingual-e5-small-q4-whole": 1},
        "z prefix5+char+use": {"bm25-prefix5": 1, "char": 1, "use-multilingual-v3-entry": 1},
        "z prefix5+char+2use": {"bm25-prefix5": 1, "char": 1, "use-multilingual-v3-entry": 2},
        "z prefix5+char+use+e5": {"bm25-prefix5": 1, "char": 1, "use-multilingual-v3-entry": 1, "multilingual-e5-small-q4-entry": 1},
        "z prefix5+char+use+2e5": {"bm25-prefix5": 1, "char": 1, "use-multilingual-v3-entry": 1, "multilingual-e5-small-q4-entry": 2},
        "z prefix5+char": {"bm25-prefix5": 1, "char": 1},
    }
    for fname, weights in fusions.items():
        if not all(k in names for k in weights):
            continue
        for tag, per in data.items():
            for lang, (sig, gold) in per.items():
                fused = sum(w * zscore(sig[k]) for k, w in weights.items())
                print(f"{fname:28} {tag:10} {lang} " + " ".join(f"{v:9.3f}" for v in metrics(fused, gold)))


if __name__ == "__main__":
    main()
