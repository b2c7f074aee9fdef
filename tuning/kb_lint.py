"""KB lint: problems in the knowledge base that article validation alone does not see.

- duplicate questions: the same question (ignoring case, diacritics, punctuation, spacing) as the title or an
  alternate question of two articles of one language; retrieval cannot tell them apart;
- missing counterparts: a topic with an article in one language but not the other, or with two
  articles in one language (articles pair by their `topic` field, which defaults to the id);
- broken links: a link to a help-centre page (a host that article URLs use) that is no
  article's URL, a relative link to a missing file, a malformed URL, an unsafe scheme.
  Links to other sites cannot be fetched offline: they are counted and reported as not checked.

Each finding is one line `file:line: level: message [allow key]`. A finding is silenced by
putting its allow key in `<kb>/lint-allow.txt` (one per line, `#` comments).
"""

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from kb_index.articles import Article, load_articles
from language.detect import SUPPORTED_LANGUAGES
from language.fold import fold

ALLOW_FILE = "lint-allow.txt"
_MARKDOWN_LINK = re.compile(r"\[[^\]]*\]\(((?:[^()]|\([^()]*\))*)\)")
_LINK_TITLE = re.compile(r"\s+\"[^\"]*\"\s*$")
_BARE_URL = re.compile(r"\b(?:https?|ftp|javascript|data|file):[^\s<>()\[\]]+", re.IGNORECASE)
_TRAILING = ".,;:!?'\"*_"
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$")


@dataclass(frozen=True)
class Finding:
    where: str
    line: int
    level: str  # "error" fails the lint; "note" is information
    message: str
    allow_key: str = ""

    def __str__(self) -> str:
        key = f" [{self.allow_key}]" if self.allow_key else ""
        return f"{self.where}:{self.line}: {self.level}: {self.message}{key}"


def lint(source: Path) -> list[Finding]:
    """All findings for a KB folder (or JSONL file), minus the allowed ones; errors first by file."""
    articles = load_articles(source)
    allowed = _allowed(source)
    findings = _duplicates(articles) + _missing_counterparts(articles) + _links(articles)
    kept = [finding for finding in findings if finding.allow_key not in allowed]
    return sorted(kept, key=lambda f: (f.level != "error", f.where, f.line))


def _allowed(source: Path) -> set[str]:
    path = source / ALLOW_FILE if source.is_dir() else source.with_name(ALLOW_FILE)
    if not path.is_file():
        return set()
    lines = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return {line for line in lines if line}


def _file_and_line(article: Article, needle: str, in_body: bool = False) -> tuple[str, int]:
    """Where `needle` first appears in the article's source (front matter, or the body)."""
    where, _, jsonl_line = article.source.rpartition(":") if not article.source.endswith(".md") else (article.source, "", "")
    if jsonl_line.isdigit():
        return where, int(jsonl_line)
    lines = Path(article.source).read_text(encoding="utf-8").splitlines()
    closing = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), 0)
    search = range(closing + 1, len(lines)) if in_body else range(0, closing + 1)
    return article.source, next((i + 1 for i in search if needle in lines[i]), 1)


def question_key(text: str) -> str:
    """Case, diacritics, punctuation and spacing do not make a question different."""
    return " ".join(re.sub(r"[^\w\s]", " ", fold(text)).split())


def _duplicates(articles: list[Article]) -> list[Finding]:
    seen: dict[tuple[str, str], list[tuple[Article, str]]] = defaultdict(list)
    for article in articles:
        for question in dict.fromkeys((article.title, *article.questions)):
            owners = seen[(article.lang, question_key(question))]
            if article not in (owner for owner, _ in owners):
                owners.append((article, question))
    findings = []
    for (lang, folded), owners in seen.items():
        if len(owners) < 2:
            continue
        first_where, first_line = _file_and_line(owners[0][0], owners[0][1])
        for article, question in owners[1:]:
            where, line = _file_and_line(article, question)
            findings.append(
                Finding(
                    where,
                    line,
                    "error",
                    f"duplicate question {question!r}: also in {first_where}:{first_line} ({owners[0][0].id})",
                    f"duplicate-question:{lang}:{folded}",
                )
            )
    return findings


def _missing_counterparts(articles: list[Article]) -> list[Finding]:
    by_topic: dict[str, dict[str, list[Article]]] = defaultdict(lambda: defaultdict(list))
    for article in articles:
        by_topic[article.topic][article.lang].append(article)
    findings = []
    for topic, by_lang in sorted(by_topic.items()):
        missing = [other for other in SUPPORTED_LANGUAGES if other not in by_lang]
        for lang, same in sorted(by_lang.items()):
            for article in same:
                where, line = _file_and_line(article, "topic:") if "topic:" in _text(article) else _file_and_line(article, "id:")
                if missing:
                    message = f"topic {topic!r} has no {'/'.join(missing)} article (no counterpart of {article.id} with topic: {topic})"
                    findings.append(Finding(where, line, "error", message, f"missing-counterpart:{topic}"))
                if len(same) > 1:
                    others = ", ".join(other.id for other in same if other is not article)
                    findings.append(
                        Finding(
                            where,
                            line,
                            "error",
                            f"topic {topic!r} has more than one {lang} article ({article.id}, {others}): counterparts are ambiguous",
                            f"ambiguous-topic:{topic}:{lang}",
                        )
                    )
    return findings


def _text(article: Article) -> str:
    return Path(article.source).read_text(encoding="utf-8") if article.source.endswith(".md") else ""


def _links(articles: list[Article]) -> list[Finding]:
    article_urls = {_canonical(a.url) for a in articles if a.url}
    help_hosts = {urlsplit(a.url).netloc.lower() for a in articles if a.url.startswith(("http://", "https://"))}
    findings: list[Finding] = []
    external: set[str] = set()
    first_external: tuple[str, int] | None = None
    for article in articles:
        body_lines = article.body.splitlines()
        for target in dict.fromkeys(_targets(body_lines)):
            problem = _link_problem(article, target, article_urls, help_hosts)
            where, line = _file_and_line(article, target, in_body=True)
            if problem:
                findings.append(Finding(where, line, "error", f"{problem}: {target}", f"link:{target}"))
            elif target.lower().startswith(("http://", "https://")) and urlsplit(target).netloc.lower() not in help_hosts:
                external.add(target)
                first_external = first_external or (where, line)
    if external and first_external:
        names = ", ".join(sorted(external)[:3]) + (", …" if len(external) > 3 else "")
        findings.append(
            Finding(*first_external, "note", f"{len(external)} external link(s) not checked: they cannot be fetched offline ({names})")
        )
    return findings


def _targets(lines: list[str]) -> list[str]:
    targets = []
    for line in lines:
        targets += [_LINK_TITLE.sub("", match.group(1)).strip().strip("<>") for match in _MARKDOWN_LINK.finditer(line)]
        targets += [match.group(0).rstrip(_TRAILING) for match in _BARE_URL.finditer(_MARKDOWN_LINK.sub(" ", line))]
    return targets


def _link_problem(article: Article, target: str, article_urls: set[str], help_hosts: set[str]) -> str:
    if not target:
        return "empty link"
    parts = urlsplit(target)
    scheme = parts.scheme.lower()
    if scheme in ("mailto", "tel"):
        return "" if parts.path else "malformed URL (nothing after the scheme)"
    if scheme and scheme not in ("http", "https"):
        return f"unsupported link scheme {scheme!r}"
    if scheme:
        host = parts.hostname or ""
        if not parts.netloc or not _HOST.match(host) or " " in target:
            return "malformed URL"
        try:
            _ = parts.port  # raises ValueError on a bad port
        except ValueError:
            return "malformed URL (bad port)"
        if host.lower() in help_hosts and _canonical(target) not in article_urls:
            return "broken link: no article has this URL"
        return ""
    if target.startswith("#"):
        return ""
    if parts.path.endswith(".md"):
        if not article.source.endswith(".md"):
            return ""
        return "" if (Path(article.source).parent / parts.path).resolve().is_file() else "broken link: no such article file"
    if target.startswith("/") and _canonical(target) not in article_urls:
        return "broken link: no article has this path"
    return ""


def _canonical(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.netloc.lower()}{parts.path.rstrip('/')}"
