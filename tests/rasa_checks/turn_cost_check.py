"""Destek's per-turn work in the Rasa server does not grow with the conversation (docs/turn-cost.md).

Run with the Rasa interpreter by tests/test_turn_cost.py; exits non-zero on the first failed check.
- HandoffPolicy and ActionServerFallbackPolicy read a bounded number of events of a 2,000-event
  tracker (counted, not timed), the same number as of a 200-event one, and still decide right.
- CachedSQLTrackerStore decodes no stored event when nothing changed, and returns what Rasa's
  SQLTrackerStore returns when something did (another writer, a new session, an unsaved turn).
- Through Rasa's own RemoteAction, a custom action gets the newest events of a 2,000-event
  tracker (bot/action_payload.py); action_request_human gets them all.
- The action server's responses are validated as Rasa validates them (same verdicts, same error
  messages) without checking the response schema again on each call (bot/action_response.py);
  the validation reads the response only, never the tracker.
"""

import asyncio
import http.server
import json
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import rasa.shared.core.events as rasa_events
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.core.tracker_store import SQLTrackerStore
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from bot import action_payload, action_response  # noqa: E402
from bot.components.action_server_fallback import ActionServerFallbackPolicy  # noqa: E402
from bot.components.handoff_policy import START, HandoffPolicy  # noqa: E402
from bot.tracker_store import CachedSQLTrackerStore  # noqa: E402
from handoff import triggers  # noqa: E402

DOMAIN = Domain.load(str(ROOT / "domain.yml"))


class CountingDeque(deque):
    """tracker.events that counts every event it hands out (iteration, reversed, indexing)."""

    touched = 0

    def __iter__(self) -> Iterator[Any]:
        for event in super().__iter__():
            self.touched += 1
            yield event

    def __reversed__(self) -> Iterator[Any]:
        for event in super().__reversed__():
            self.touched += 1
            yield event

    def __getitem__(self, index: Any) -> Any:
        self.touched += 1
        return super().__getitem__(index)


def user(text: str, intent: str) -> UserUttered:
    parse_data = {"intent": {"name": intent, "confidence": 0.9}, "entities": [], "text": text}
    return UserUttered(text, intent=parse_data["intent"], parse_data=parse_data)


def faq_turn(number: int) -> list[Event]:
    """The events of one answered FAQ turn, as Destek stores them."""
    return [
        user(f"question {number}", "faq"),
        SlotSet("language", "tr"),
        ActionExecuted("action_answer_from_kb"),
        BotUttered("an answer"),
        BotUttered("did it help?"),
        SlotSet("kb_query", f"question {number}"),
        SlotSet("kb_article_id", "article"),
        SlotSet("kb_score", 0.7),
        SlotSet("kb_answered", True),
        SlotSet("kb_candidates", [{"id": "article", "title": "t", "score": 0.7}]),
        ActionExecuted("action_listen"),
    ]


def conversation(size: int, ending: list[Event]) -> DialogueStateTracker:
    events: list[Event] = [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]
    number = 0
    while len(events) + len(ending) < size:
        events += faq_turn(number)
        number += 1
    tracker = DialogueStateTracker.from_events("long", events + ending, DOMAIN.slots)
    tracker.events = CountingDeque(tracker.events)
    return tracker


def touched(predict: Callable[[DialogueStateTracker], Any], size: int, ending: list[Event]) -> int:
    tracker = conversation(size, ending)
    predict(tracker)
    return tracker.events.touched


def predicted(policy: Any, tracker: DialogueStateTracker) -> str:
    prediction = policy.predict_action_probabilities(tracker, DOMAIN)
    best = max(range(len(prediction.probabilities)), key=prediction.probabilities.__getitem__)
    return DOMAIN.action_names_or_texts[best] if prediction.probabilities[best] > 0 else ""


def check_policies(folder: Path) -> None:
    storage, context = LocalModelStorage(folder), ExecutionContext(GraphSchema({}), "test")
    handoff = HandoffPolicy(HandoffPolicy.get_default_config(), storage, Resource("handoff"), context)
    fallback = ActionServerFallbackPolicy(ActionServerFallbackPolicy.get_default_config(), storage, Resource("fallback"), context)
    endings = {
        "a question": [user("kargom nerede", "faq")],
        "two unclear messages": [
            user("asdf", "nlu_fallback"),
            ActionExecuted("action_answer_from_kb"),
            SlotSet("kb_answered", False),
            ActionExecuted("action_listen"),
            user("qwer", "nlu_fallback"),
        ],
        "a KB answer": faq_turn(9999)[:-1],
        "a second 👎": [
            user("/answer_not_helpful", "answer_not_helpful"),
            ActionExecuted("action_record_feedback"),
            SlotSet("kb_feedback", "down"),
            SlotSet("kb_downvotes", 2),
        ],
    }
    for name, ending in endings.items():
        for policy in (handoff, fallback):
            small = touched(lambda t, policy=policy: policy.predict_action_probabilities(t, DOMAIN), 200, ending)
            large = touched(lambda t, policy=policy: policy.predict_action_probabilities(t, DOMAIN), 2000, ending)
            assert small == large <= triggers.LOOKBACK + 2, (type(policy).__name__, name, small, large)
    # Reading only the newest events still finds what the triggers look for.
    assert predicted(handoff, conversation(2000, endings["two unclear messages"])) == START
    assert predicted(handoff, conversation(2000, endings["a second 👎"])) == START
    assert predicted(handoff, conversation(2000, endings["a question"])) == ""
    one_down = [*endings["a second 👎"][:-1], SlotSet("kb_downvotes", 1)]
    assert predicted(handoff, conversation(2000, one_down)) == ""


def decoded_during(call: Callable[[], Any]) -> tuple[Any, int]:
    """The call's result and how many stored events it decoded from JSON."""
    original = rasa_events.deserialise_events
    count = 0

    def counting(serialized_events: list[dict]) -> list[Event]:
        nonlocal count
        count += len(serialized_events)
        return original(serialized_events)

    rasa_events.deserialise_events = counting
    try:
        return call(), count
    finally:
        rasa_events.deserialise_events = original


def dumped(tracker: Any) -> list[dict]:
    return [event.as_dict() for event in tracker.events]


def check_tracker_store(folder: Path) -> None:
    db = str(folder / "tracker.sqlite3")
    store = CachedSQLTrackerStore(DOMAIN, dialect="sqlite", db=db)
    plain = SQLTrackerStore(DOMAIN, dialect="sqlite", db=db)  # Rasa's own, and a second writer
    run = asyncio.run
    long = conversation(2000, [])
    first = DialogueStateTracker.from_events("c", list(long.events), DOMAIN.slots)
    run(store.save(first))  # a new conversation: nothing kept yet
    tracker, decoded = decoded_during(lambda: run(store.retrieve("c")))
    rasa_own = run(plain.retrieve("c"))
    assert decoded == len(rasa_own.events) > 1900 and dumped(tracker) == dumped(rasa_own)

    # A turn: retrieve, add events, save; the next retrieve decodes nothing and equals Rasa's.
    for number in range(3):
        tracker, decoded = decoded_during(lambda: run(store.retrieve("c")))
        assert decoded == 0, decoded
        for event in faq_turn(number):
            tracker.update(event)
        run(store.save(tracker))
    tracker, decoded = decoded_during(lambda: run(store.retrieve("c")))
    assert decoded == 0 and dumped(tracker) == dumped(run(plain.retrieve("c")))
    assert tracker.get_slot("kb_query") == "question 2"

    # A turn that failed before saving leaves nothing behind.
    for event in faq_turn(77):
        tracker.update(event)
    assert dumped(run(store.retrieve("c"))) == dumped(run(plain.retrieve("c")))

    # Another writer (a second Rasa replica): read from the database again.
    other = run(plain.retrieve("c"))
    other.update(SlotSet("kb_query", "from elsewhere"))
    run(plain.save(other))
    tracker, decoded = decoded_during(lambda: run(store.retrieve("c")))
    assert decoded > 0 and tracker.get_slot("kb_query") == "from elsewhere"

    # A new session: Rasa's retrieve returns only it, and so does this store.
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    tracker.update(ActionExecuted("action_listen"))
    run(store.save(tracker))
    assert dumped(run(store.retrieve("c"))) == dumped(run(plain.retrieve("c")))
    assert [event.type_name for event in run(store.retrieve("c")).events] == ["session_started", "action"]

    # The cache is bounded.
    small = CachedSQLTrackerStore(DOMAIN, dialect="sqlite", db=db, cached_conversations=2)
    for sender in ("a", "b", "c", "d"):
        run(small.save(DialogueStateTracker.from_events(sender, list(faq_turn(1)), DOMAIN.slots)))
        run(small.retrieve(sender))
    assert list(small._kept) == ["c", "d"]


def check_action_payload() -> None:
    bodies: list[dict] = []

    class ActionServer(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            answer = json.dumps({"events": [], "responses": []}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ActionServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = EndpointConfig(f"http://127.0.0.1:{server.server_address[1]}/webhook")
    tracker = conversation(2000, [user("kargom nerede", "faq")])
    tracker.events = deque(tracker.events)
    nlg = TemplatedNaturalLanguageGenerator(DOMAIN.responses)

    def call(action: str) -> list[dict]:
        asyncio.run(RemoteAction(action, endpoint).run(CollectingOutputChannel(), nlg, tracker, DOMAIN))
        return bodies[-1]["tracker"]["events"]

    size = len(tracker.events)
    try:
        assert len(call("action_answer_from_kb")) == size > 1900  # Rasa's own behaviour until registered
        action_payload.register(120)
        newest = call("action_answer_from_kb")
        assert len(newest) == 120 and newest == [event.as_dict() for event in list(tracker.events)[-120:]]
        assert bodies[-1]["tracker"]["latest_message"]["text"] == "kargom nerede" and "slots" in bodies[-1]["tracker"]
        assert len(call("action_request_human")) == size
        action_payload.register(0)
        assert len(call("action_answer_from_kb")) == size
    finally:
        server.shutdown()


def check_action_response() -> None:
    from jsonschema import ValidationError, validators

    rasa_own = RemoteAction._validate_action_result
    responses: list[Any] = [
        {"events": [{"event": "slot", "name": "kb_query", "value": "q"}], "responses": [{"response": "utter_kb_answer"}]},
        {"events": [], "responses": []},
        {"events": [{"event": "slot", "name": 3}], "responses": []},
        {"events": "not a list", "responses": []},
        {"events": [], "responses": "not a list"},
    ]

    def verdict(validate: Callable[..., bool], *arguments: Any) -> str:
        try:
            return str(validate(*arguments))
        except ValidationError as error:
            return error.message

    action = RemoteAction("action_answer_from_kb", None)
    before = [verdict(rasa_own, action, response) for response in responses]
    assert before[:2] == ["True", "True"] and all("Failed to validate Action server response" in v for v in before[2:]), before
    action_response.install()
    action_response.install()  # idempotent: one validator
    assert isinstance(RemoteAction.__dict__["_validate_action_result"], action_response.ResponseValidator)
    schema_class = validators.validator_for(RemoteAction.action_response_format_spec())
    checks = 0
    original_check = schema_class.check_schema

    def counting_check(schema: Any, *args: Any, **kwargs: Any) -> None:
        nonlocal checks
        checks += 1
        original_check(schema, *args, **kwargs)

    schema_class.check_schema = counting_check
    try:
        after = [verdict(action._validate_action_result, response) for response in responses * 10]
    finally:
        schema_class.check_schema = original_check
    assert after == before * 10, (after, before)
    assert checks == 0, checks
    RemoteAction._validate_action_result = rasa_own


def main() -> None:
    check_action_response()
    with tempfile.TemporaryDirectory() as folder:
        check_policies(Path(folder))
        check_tracker_store(Path(folder))
    check_action_payload()
    print("ok")


if __name__ == "__main__":
    main()
