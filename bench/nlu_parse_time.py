"""Mean time Rasa's NLU takes to parse one message with the trained project model.

PYTHONPATH=. .venv-rasa/bin/python bench/nlu_parse_time.py [MODEL]   (default bot/models/destek.tar.gz)
"""

import asyncio
import sys
import time

TEXTS = ["merhaba", "hello", "siparişim nerede", "how do I return an item", "teşekkürler", "I want to talk to a person"] * 30


async def mean_parse_ms(model: str) -> float:
    from rasa.core.agent import Agent

    agent = Agent.load(model)
    for text in TEXTS[:6]:  # warm-up: lazy loading and first-call costs
        await agent.parse_message(text)
    started = time.perf_counter()
    for text in TEXTS:
        await agent.parse_message(text)
    return 1000 * (time.perf_counter() - started) / len(TEXTS)


if __name__ == "__main__":
    model = sys.argv[1] if len(sys.argv) > 1 else "bot/models/destek.tar.gz"
    print(f"mean parse: {asyncio.run(mean_parse_ms(model)):.1f} ms per message (n={len(TEXTS)})")
