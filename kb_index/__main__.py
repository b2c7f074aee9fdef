"""Command line: `python -m kb_index build|search|eval` (see README, "kb_index")."""

import argparse
import json
import sys
from pathlib import Path

from kb_index.errors import KbError
from settings.model import get_settings


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args))
    except KbError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; the previous index is unchanged", file=sys.stderr)
        return 130


def _build(args: argparse.Namespace) -> int:
    from kb_index.build import KB_DEFAULT_MODEL, BuildSettings, build_index

    model = args.model or get_settings().kb.embedding_model or KB_DEFAULT_MODEL
    settings = BuildSettings(
        model=model,
        index_type=args.index_type,
        max_passage_words=args.max_passage_words,
        threshold=args.threshold,
        false_answer_budget=args.false_answers,
        stemmer=args.stemmer,
    )
    report = build_index(Path(args.source), Path(args.out), settings, progress=not args.quiet)
    languages = ", ".join(f"{lang}: {count}" for lang, count in report.languages.items())
    print(
        f"built {args.out}: {report.articles} articles, {report.entries} entries ({languages}) in {report.seconds:.1f}s with {model} ({report.embedded} texts embedded, the rest cached)"
    )
    return 0


def _search(args: argparse.Namespace) -> int:
    from kb_index.search import KnowledgeBase

    if not args.text.strip():
        raise KbError("empty query")
    kb = KnowledgeBase.open(Path(args.index), model=get_settings().kb.embedding_model or None)
    hits = kb.search(args.text, k=args.k, lang=args.lang)
    if args.json:
        print(json.dumps([hit.public() for hit in hits], ensure_ascii=False))
        return 0
    threshold = kb.threshold if args.threshold is None else args.threshold
    for number, hit in enumerate(hits, start=1):
        flag = "" if hit.score >= threshold else "  (below threshold)"
        print(f"{number}. {hit.score:.3f} {hit.id} [{hit.lang}] {hit.title}{flag}\n   {hit.url}\n   {hit.snippet[:200]}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from kb_index.evaluate import evaluate, format_report, load_queries
    from kb_index.search import KnowledgeBase

    queries = load_queries(Path(args.queries))
    kb = KnowledgeBase.open(Path(args.index), model=get_settings().kb.embedding_model or None)
    report = evaluate(kb, queries, threshold=args.threshold, cache=Path(args.cache) if args.cache else None)
    print(json.dumps(report) if args.json else format_report(report))
    return 0


def _parser() -> argparse.ArgumentParser:
    from kb_index.build import DEFAULT_FALSE_ANSWER_BUDGET, DEFAULT_STEMMER, INDEX_TYPES, KB_DEFAULT_MODEL
    from kb_index.words import STEMMERS

    parser = argparse.ArgumentParser(prog="python -m kb_index", description="Build, search and evaluate Destek's knowledge-base index.")
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build", help="index a folder of Markdown articles or a JSONL file")
    build.add_argument("--source", required=True, help="folder of .md articles with front matter, or a .jsonl file")
    build.add_argument("--out", required=True, help="index folder (replaced atomically)")
    build.add_argument(
        "--model",
        default=None,
        help=f"embedding model (default: DESTEK_EMBEDDING_MODEL, else {KB_DEFAULT_MODEL})",
    )
    build.add_argument("--index-type", choices=INDEX_TYPES, default="flat", help="flat: exact search; hnsw: approximate, for large bases")
    build.add_argument("--max-passage-words", type=_positive_int, default=80)
    build.add_argument(
        "--threshold", type=float, help="answer threshold stored in the index (default: chosen per language for --false-answers)"
    )
    build.add_argument(
        "--false-answers",
        type=float,
        default=DEFAULT_FALSE_ANSWER_BUDGET,
        help=f"false-answer budget the threshold is chosen for (default {DEFAULT_FALSE_ANSWER_BUDGET})",
    )
    build.add_argument("--stemmer", choices=STEMMERS, default=DEFAULT_STEMMER, help=f"word stemming for BM25 (default {DEFAULT_STEMMER})")
    build.add_argument("--quiet", action="store_true", help="no progress bar")
    build.set_defaults(run=_build)

    search = commands.add_parser("search", help="search an index")
    search.add_argument("--index", required=True)
    search.add_argument("--k", type=_positive_int, default=5)
    search.add_argument("--lang", choices=("tr", "en"), help="query language (default: detected)")
    search.add_argument("--json", action="store_true", help="print a JSON list")
    search.add_argument("--threshold", type=float, help="mark results below this score")
    search.add_argument("text")
    search.set_defaults(run=_search)

    evaluation = commands.add_parser("eval", help="recall@1, recall@5 and MRR on labelled queries")
    evaluation.add_argument("--index", required=True)
    evaluation.add_argument("--queries", required=True, help='JSONL lines {"query", "expected_id"}')
    evaluation.add_argument("--threshold", type=float, help="answer threshold (default: the index's)")
    evaluation.add_argument("--json", action="store_true")
    evaluation.add_argument("--cache", help="folder to keep the queries' embeddings in between runs (default: none)")
    evaluation.set_defaults(run=_eval)
    public = commands.add_parser("eval-public", help="kb_index beside lexical baselines on XQuAD (TR, EN): full and half KBs")
    public.add_argument(
        "--xquad", default="../shared/eval/xquad", help="folder of xquad.tr.json and xquad.en.json (make eval-public: XQUAD_DIR)"
    )
    public.add_argument(
        "--model",
        default=KB_DEFAULT_MODEL,
        help=f"embedding model of kb_index (default: {KB_DEFAULT_MODEL}, the index's default)",
    )
    public.add_argument("--json", action="store_true")
    public.add_argument(
        "--set",
        action="append",
        choices=("xquad-tr", "xquad-tr-half", "xquad-en", "xquad-en-half"),
        help="only this set (repeatable; default: all four)",
    )
    public.add_argument("--progress", action="store_true", help="print each set's row to stderr as soon as it is done")
    public.add_argument("--cache", help="folder to keep embeddings in between runs (default: none, everything is embedded)")
    public.add_argument(
        "--false-answers", type=float, default=None, help=f"false-answer budget of the builds (default {DEFAULT_FALSE_ANSWER_BUDGET})"
    )
    public.set_defaults(run=_eval_public)
    return parser


def _eval_public(args: argparse.Namespace) -> int:
    from kb_index.public_eval import format_results, run

    results = run(
        Path(args.xquad),
        model=args.model,
        sets=args.set,
        progress=args.progress,
        cache=Path(args.cache) if args.cache else None,
        budget=args.false_answers,
    )
    print(json.dumps(results) if args.json else format_results(results))
    return 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


if __name__ == "__main__":
    sys.exit(main())
