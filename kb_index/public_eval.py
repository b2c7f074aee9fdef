"""`python -m kb_index eval-public`: kb_index beside lexical baselines on XQuAD (TR, EN).

The protocol is the one of `../shared/eval/xquad/README.md`: one KB article per Wikipedia
paragraph (never any alternate `questions`), every question of a paragraph expects it; the
half KB keeps the paragraphs of the even-numbered Wikipedia articles and asks the questions of
the odd-numbered ones as unanswerable. kb_index is built and evaluated through
`build_index` and `evaluate`, exactly as `kb_index build` and `kb_index eval` do.
"""

import json
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from kb_index.errors import KbError
from language.fold import turkish_lower

LANGUAGES = ("tr", "en")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class PublicSet:
    name: str
    lang: str
    articles: list[dict[str, Any]]
    queries: list[dict[str, Any]]


def load_xquad(folder: Path, lang: str, half: bool = False) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(articles, queries) of the para KB, or of the half KB with unanswerable queries."""
    path = folder / f"xquad.{lang}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
    except FileNotFoundError:
        raise KbError(f"{path}: no such file (XQuAD folder: --xquad)") from None
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise KbError(f"{path}: not SQuAD-format JSON ({exc.__class__.__name__})") from None
    articles: list[dict[str, Any]] = []
    queries: list[dict[str, Any]] = []
    for number, item in enumerate(data):
        kept = not half or number % 2 == 0
        title = item["title"]
        for p, paragraph in enumerate(item["paragraphs"]):
            article_id = f"xq-{lang}-{_UNSAFE.sub('_', title)}-p{p}"
            if kept:
                articles.append(
                    {
                        "id": article_id,
                        "title": title.replace("_", " "),
                        "body": paragraph["context"].strip(),
                        "lang": lang,
                        "url": f"https://en.wikipedia.org/wiki/{title}",
                    }
                )
            for qa in paragraph["qas"]:
                queries.append({"query": qa["question"], "expected_id": article_id if kept else None, "lang": lang})
    return articles, queries


def public_sets(folder: Path) -> list[PublicSet]:
    sets = []
    for lang in LANGUAGES:
        for half in (False, True):
            articles, queries = load_xquad(folder, lang, half)
            sets.append(PublicSet(f"xquad-{lang}{'-half' if half else ''}", lang, articles, queries))
    return sets


def _lower_words(text: str) -> list[str]:
    return _WORD.findall(turkish_lower(text))


BASELINES: dict[str, Callable[[list[str], list[str]], np.ndarray]] = {}


def _baseline(name: str) -> Callable[[Callable[[list[str], list[str]], np.ndarray]], Callable[[list[str], list[str]], np.ndarray]]:
    def register(function: Callable[[list[str], list[str]], np.ndarray]) -> Callable[[list[str], list[str]], np.ndarray]:
        BASELINES[name] = function
        return function

    return register


@_baseline("char TF-IDF")
def char_tfidf(documents: list[str], queries: list[str]) -> np.ndarray:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
    matrix = vectorizer.fit_transform(documents)
    return (vectorizer.transform(queries) @ matrix.T).toarray()


@_baseline("BM25")
def bm25_words(documents: list[str], queries: list[str]) -> np.ndarray:
    return _bm25(documents, queries, _lower_words)


@_baseline("BM25 prefix-5")
def bm25_prefixes(documents: list[str], queries: list[str]) -> np.ndarray:
    return _bm25(documents, queries, lambda text: [word[:5] for word in _lower_words(text)])


def _bm25(documents: list[str], queries: list[str], tokenize: Callable[[str], list[str]]) -> np.ndarray:
    import bm25s

    model = bm25s.BM25(k1=1.5, b=0.75)
    model.index([tokenize(d) or [""] for d in documents], show_progress=False)
    rows = []
    for query in queries:
        tokens = [t for t in tokenize(query) if t in model.vocab_dict]
        rows.append(model.get_scores(tokens) if tokens else np.zeros(len(documents)))
    return np.array(rows)


def baseline_report(public: PublicSet, scores: np.ndarray) -> dict[str, Any]:
    """recall@1/5 and MRR@5 of a score matrix (queries × articles) on the answerable queries."""
    ids = [a["id"] for a in public.articles]
    ranks = []
    for row, query in zip(scores, public.queries, strict=True):
        if query["expected_id"] is None:
            continue
        top = [ids[i] for i in np.argsort(-row, kind="stable")[:5]]
        ranks.append(top.index(query["expected_id"]) + 1 if query["expected_id"] in top else None)
    n = len(ranks)
    return {
        "n": n,
        "recall@1": round(sum(r == 1 for r in ranks) / n, 4),
        "recall@5": round(sum(r is not None for r in ranks) / n, 4),
        "mrr": round(sum(1 / r for r in ranks if r) / n, 4),
    }


def run(
    folder: Path,
    model: str | None = None,
    sets: list[str] | None = None,
    progress: bool = False,
    cache: Path | None = None,
    budget: float | None = None,
) -> dict[str, Any]:
    """Build and evaluate every set; {set name: {"kb_index": eval report, baseline: report}}.

    progress: print each set's row to stderr as one JSON line as soon as it is done.
    cache: a folder to keep embeddings in between runs (one per language).
    budget: the false-answer budget of the builds (default: the build's default)."""
    from kb_index.build import BuildSettings, build_index
    from kb_index.evaluate import evaluate
    from kb_index.search import KnowledgeBase

    settings = BuildSettings() if model is None else BuildSettings(model=model)
    if budget is not None:
        settings = replace(settings, false_answer_budget=budget)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="kb-public-") as scratch:
        for public in public_sets(folder):
            if sets and public.name not in sets:
                continue
            source = Path(scratch) / f"{public.name}.jsonl"
            source.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in public.articles), encoding="utf-8")
            started = time.perf_counter()
            build_index(source, Path(scratch) / public.name, settings, progress=False, cache_dir=cache / public.lang if cache else None)
            built = time.perf_counter() - started
            kb = KnowledgeBase.open(Path(scratch) / public.name)
            texts = [q["query"] for q in public.queries]
            report = evaluate(kb, public.queries, cache=cache / public.lang if cache else None)
            report["build_seconds"] = round(built, 1)
            row: dict[str, Any] = {"kb_index": report}
            documents = [a["title"] + "\n" + a["body"] for a in public.articles]
            for name, function in BASELINES.items():
                row[name] = baseline_report(public, function(documents, texts))
            results[public.name] = row
            if progress:
                print(json.dumps({public.name: row}), file=sys.stderr, flush=True)
    return results


def format_results(results: dict[str, Any]) -> str:
    """One table: recall@1 / recall@5 / MRR per method, then answered and false answers of kb_index."""
    methods = ["kb_index", *BASELINES]
    lines = [f"{'set':14} {'n':>5} " + " ".join(f"{m:>20}" for m in methods) + "   (recall@1 / recall@5 / MRR@5)"]
    for name, row in results.items():
        cells = [f"{row[m]['recall@1']:.3f}/{row[m]['recall@5']:.3f}/{row[m]['mrr']:.3f}" for m in methods]
        lines.append(f"{name:14} {row['kb_index']['n']:>5} " + " ".join(f"{c:>20}" for c in cells))
    lines.append("")
    lines.append(f"{'set':14} {'threshold':>9} {'answered':>9} {'n_none':>6} {'false':>6} {'build s':>7}   (kb_index at its own threshold)")
    for name, row in results.items():
        r = row["kb_index"]
        lines.append(
            f"{name:14} {r['threshold']:>9.3f} {r['answered_correctly']:>9.3f} {r['n_unanswerable']:>6} {r['false_answer_rate']:>6.3f} {r['build_seconds']:>7.1f}"
        )
    lines.append("answered = right article at rank 1 and above the threshold; false = unanswerable queries answered anyway")
    return "\n".join(lines)
