"""Parse texts with a trained Rasa model; runs in `.venv-rasa` (Python 3.10, Rasa 3.6).

Usage: python -m replay.nlu_worker MODEL IN.json OUT.json — IN is a JSON list of texts, OUT gets
a JSON list of {"intent", "confidence", "language"} in the same order. Only the NLU pipeline
runs (Agent.parse_message): no tracker, no actions, nothing written but OUT.
"""

import asyncio
import json
import sys
from typing import Any


def _language(parse: dict[str, Any]) -> str | None:
    for entity in parse.get("entities") or []:
        if entity.get("entity") == "language":
            return str(entity.get("value"))
    return None


async def _parse_all(model: str, texts: list[str]) -> list[dict[str, Any]]:
    from rasa.core.agent import Agent

    agent = Agent.load(model)
    results = []
    for text in texts:
        parse = await agent.parse_message(text)
        intent = parse.get("intent") or {}
        results.append({"intent": intent.get("name"), "confidence": intent.get("confidence"), "language": _language(parse)})
    return results


def main(argv: list[str]) -> int:
    model, source, target = argv
    with open(source, encoding="utf-8") as stream:
        texts = json.load(stream)
    results = asyncio.run(_parse_all(model, texts))
    with open(target, "w", encoding="utf-8") as stream:
        json.dump(results, stream)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
