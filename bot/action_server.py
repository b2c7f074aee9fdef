"""Run the action server with the knowledge base loaded before the first request.

`python -m rasa_sdk --actions bot.actions` works too, but then the first question pays
for loading the index and the embedding model.
"""

import argparse
import logging

from rasa_sdk.endpoint import create_app
from rasa_sdk.executor import ActionExecutor

from bot.actions import services


def main() -> None:
    parser = argparse.ArgumentParser(description="Destek action server")
    parser.add_argument("--port", type=int, default=5055)
    parser.add_argument("--host", default="0.0.0.0")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    executor = ActionExecutor()
    executor.register_package("bot.actions")
    app = create_app(executor)

    @app.before_server_start
    async def load_knowledge_base(*_: object) -> None:
        kb = services.knowledge_base()
        services.records()
        logging.getLogger(__name__).info("knowledge base loaded: %s articles, model %s", len(kb.articles), kb.manifest["model"])

    app.run(host=args.host, port=args.port, single_process=True, access_log=False, motd=False)


if __name__ == "__main__":
    main()
