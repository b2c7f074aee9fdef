"""Replay: the current model's parses plus the KB decision of bot/actions/kb.py, turn by turn.

The dialogue is mirrored, not run: the rules of bot/data/rules/rules.yml that decide between an
answer, "not sure" and a person (faq / nlu_fallback → KB; request_human and "yes" after a
not-sure → handoff; 👍/👎 → feedback) and the handoff policy's triggers (handoff.triggers.decide,
the same function the Rasa policy calls) on a synthetic event list. Deterministic: no sampling,
no LLM, no clock.
"""

import json
import os
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handoff import triggers
from handoff.settings import HandoffSettings
from kb_index.errors import KbError
from kb_index.search import KnowledgeBase
from replay.recorded import AGENT, ANSWER, HANDBACK_INTENT, HANDOFF, NOT_SURE, REPLY, RecordedConversation, ReplayError
from settings.model import get_settings
from storage.database import Database, exists

ROOT = Path(__file__).resolve().parents[1]
KB_INTENTS = ("faq", "nlu_fallback")
FEEDBACK_INTENTS = {"answer_helpful": "up", "answer_not_helpful": "down"}
WORKER_TIMEOUT_S = 1800


@dataclass(frozen=True)
class Parse:
    intent: str | None
    language: str | None


@dataclass(frozen=True)
class ReplayedTurn:
    intent: str | None
    outcome: str
    article_id: str | None = None


def rasa_python() -> Path:
    return Path(get_settings().processes.rasa_python or ROOT / ".venv-rasa" / "bin" / "python")


def parse_texts(model: Path, texts: Sequence[str]) -> dict[str, Parse]:
    """Each distinct text parsed once by `model`, in a `.venv-rasa` subprocess (replay.nlu_worker)."""
    if not model.is_file():
        raise ReplayError(f"{model}: no such model file")
    unique = sorted(set(texts))
    with tempfile.TemporaryDirectory(prefix="destek-replay-") as folder:
        source, target = Path(folder) / "in.json", Path(folder) / "out.json"
        source.write_text(json.dumps(unique, ensure_ascii=False), encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3"}
        done = subprocess.run(
            [str(rasa_python()), "-m", "replay.nlu_worker", str(model.resolve()), str(source), str(target)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=WORKER_TIMEOUT_S,
        )
        if done.returncode != 0 or not target.is_file():
            lines = [line for line in done.stderr.splitlines() if line.strip()]
            raise ReplayError(f"{model}: the model could not parse the messages ({lines[-1] if lines else 'exit ' + str(done.returncode)})")
        results = json.loads(target.read_text(encoding="utf-8"))
    if len(results) != len(unique):
        raise ReplayError(f"{model}: the model returned {len(results)} parses for {len(unique)} messages")
    return {text: Parse(item["intent"], item["language"]) for text, item in zip(unique, results, strict=True)}


class KbDecision:
    """bot/actions/kb.py's choice for one query: the best article at or above the threshold, or none."""

    def __init__(self, index: Path, threshold: float | None, feedback_db: Database | None) -> None:
        try:
            self.kb = KnowledgeBase.open(index)
        except KbError as error:
            raise ReplayError(str(error)) from None
        self.threshold = threshold if threshold is not None else self.kb.threshold
        self.memory: Any = None
        if feedback_db is not None and exists(feedback_db):
            from feedback.ranking import DemotionSettings, FeedbackMemory

            self.memory = FeedbackMemory(feedback_db, self.kb.manifest["model"], DemotionSettings.of(get_settings().kb))
        self._cache: dict[tuple[str, str | None], str | None] = {}

    def article(self, query: str, language: str | None) -> str | None:
        key = (query, language if language in self.kb.languages else None)
        if key not in self._cache:
            hits, vector = self.kb.search_embedded(query, k=5, lang=key[1])
            if self.memory is not None:
                hits = self.memory.rerank(hits, vector)
            best = hits[0] if hits else None
            self._cache[key] = best.id if best is not None and best.score >= self.threshold else None
        return self._cache[key]


def replay_conversation(
    conversation: RecordedConversation, parses: dict[str, Parse], kb: KbDecision, settings: HandoffSettings
) -> list[ReplayedTurn | None]:
    """One ReplayedTurn per recorded turn (None for system turns such as an agent's message)."""
    events: list[dict[str, Any]] = []
    language: str | None = conversation.language if conversation.language in ("tr", "en") else None
    with_agent = False
    last_kb: bool | None = None  # kb_answered of the bot's previous turn, when that turn was a KB answer
    results: list[ReplayedTurn | None] = []
    for turn in conversation.turns:
        if turn.external:
            if turn.intent == HANDBACK_INTENT:
                with_agent, last_kb = False, None
                events.append({"event": "action", "name": "action_handback"})
            results.append(None)
            continue
        parse = parses[turn.text]
        language = parse.language or language
        if with_agent:
            results.append(ReplayedTurn(parse.intent, AGENT))
            continue
        events.append({"event": "user", "text": turn.text, "parse_data": {"intent": {"name": parse.intent}}})
        outcome, article, kb_ran = REPLY, None, False
        if triggers.decide(events, settings) is not None:
            outcome = HANDOFF
        elif parse.intent in KB_INTENTS:
            article = kb.article(turn.text, language)
            outcome, kb_ran = (ANSWER if article else NOT_SURE), True
            events += [
                {"event": "action", "name": triggers.KB_ACTION},
                {"event": "slot", "name": "kb_answered", "value": article is not None},
            ]
            if triggers.decide(events, settings) is not None:
                outcome, article = HANDOFF, None
        elif parse.intent == "affirm" and last_kb is False:
            outcome = HANDOFF
        elif parse.intent in FEEDBACK_INTENTS or (parse.intent in ("affirm", "deny") and last_kb is True):
            rating = FEEDBACK_INTENTS.get(parse.intent or "") or ("up" if parse.intent == "affirm" else "down")
            events += [{"event": "action", "name": triggers.FEEDBACK_ACTION}, {"event": "slot", "name": "kb_feedback", "value": rating}]
            if triggers.decide(events, settings) is not None:
                outcome = HANDOFF
        if outcome == HANDOFF:
            events.append({"event": "action", "name": triggers.HANDOFF_ACTION})
            with_agent = True
        last_kb = (article is not None) if kb_ran and outcome != HANDOFF else None
        events.append({"event": "action", "name": "action_listen"})
        results.append(ReplayedTurn(parse.intent, outcome, article))
    return results
