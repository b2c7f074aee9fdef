"""Analytics without servers: the tracker reader on events written in Rasa 3.6's SQL schema, the
figures on hand-made support-database rows, filters, redaction and /metrics access rules.
(tests/test_analytics_dashboard.py runs the same code on conversations a real Rasa server had.)"""

import json
import sqlite3
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.requests import Request

from analytics.figures import Durations, Filters, compute
from analytics.prometheus import SupportCounts, exposition
from analytics.support_db import read_support_data
from analytics.tracker import channel_of, conversations_of, read_conversations
from privacy.redaction import mask_long_numbers as local_redact
from privacy.redaction import redact_for_display as redact
from support_app.console.dashboard import metrics_allowed, parse_filters

# SQLTrackerStore.SQLEvent as Rasa 3.6 creates it (rasa/core/tracker_store.py).
RASA_EVENTS_TABLE = """
CREATE TABLE events (
    id INTEGER NOT NULL, sender_id VARCHAR(255) NOT NULL, type_name VARCHAR(255) NOT NULL,
    timestamp FLOAT, intent_name VARCHAR(255), action_name VARCHAR(255), data TEXT, PRIMARY KEY (id)
);
CREATE INDEX ix_events_sender_id ON events (sender_id);
"""
T0 = 1_790_000_000.0  # 2026-09-21 14:13:20 UTC


def session_start(t: float, **carried: Any) -> list[dict[str, Any]]:
    events = [{"event": "action", "name": "action_session_start", "timestamp": t}, {"event": "session_started", "timestamp": t}]
    events += [{"event": "slot", "name": k, "value": v, "timestamp": t} for k, v in carried.items()]
    return [*events, {"event": "action", "name": "action_listen", "timestamp": t}]


def user(t: float, text: str | None, intent: str, confidence: float = 0.9, language: str = "tr") -> list[dict[str, Any]]:
    entities = [{"entity": "language", "value": language, "start": 0, "end": len(text or "")}]
    return [
        {
            "event": "user",
            "timestamp": t,
            "text": text,
            "parse_data": {"intent": {"name": intent, "confidence": confidence}, "entities": entities},
        },
        {"event": "slot", "name": "language", "value": language, "timestamp": t},
    ]


def action(t: float, name: str, *bot: str, **slots: Any) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [{"event": "action", "name": name, "policy": "RulePolicy", "confidence": 1.0, "timestamp": t}]
    events += [{"event": "bot", "text": f"text of {r}", "metadata": {"utter_action": r}, "timestamp": t + 0.01} for r in bot]
    events += [{"event": "slot", "name": k, "value": v, "timestamp": t + 0.01} for k, v in slots.items()]
    return [*events, {"event": "action", "name": "action_listen", "timestamp": t + 0.02}]


def write_tracker(path: Path, conversations: dict[str, list[dict[str, Any]]]) -> Path:
    """Rows as SQLTrackerStore.save writes them: type_name, timestamp, intent_name, action_name, JSON data."""
    with sqlite3.connect(path) as db:
        db.executescript(RASA_EVENTS_TABLE)
        for sender, events in conversations.items():
            for event in events:
                db.execute(
                    "INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        sender,
                        event["event"],
                        event["timestamp"],
                        event.get("parse_data", {}).get("intent", {}).get("name"),
                        event.get("name"),
                        json.dumps(event),
                    ),
                )
    return path


def kb_answer(t: float, article: str, score: float, query: str) -> list[dict[str, Any]]:
    return action(
        t,
        "action_answer_from_kb",
        "utter_kb_answer",
        "utter_ask_helpful",
        kb_query=query,
        kb_article_id=article,
        kb_score=score,
        kb_answered=True,
    )


def kb_not_sure(t: float, query: str) -> list[dict[str, Any]]:
    return action(
        t,
        "action_answer_from_kb",
        "utter_kb_not_sure",
        "utter_offer_human",
        kb_query=query,
        kb_article_id=None,
        kb_score=0.1,
        kb_answered=False,
    )


@pytest.fixture
def tracker(tmp_path: Path) -> Path:
    return write_tracker(
        tmp_path / "tracker.sqlite3",
        {
            # web, TR: answered, rated 👍, then a second session an hour later that re-sets carried slots
            "web:ayse": [
                *session_start(T0),
                *user(T0 + 10, "kargom nerede", "faq"),
                *kb_answer(T0 + 11.5, "track-tr", 0.8, "kargom nerede"),
                *user(T0 + 20, "/answer_helpful", "answer_helpful", 1.0),
                *action(T0 + 20.5, "action_record_feedback", "utter_feedback_thanks", kb_feedback="up"),
                *session_start(T0 + 7200, language="tr", kb_answered=True, kb_article_id="track-tr", kb_query="kargom nerede"),
                *user(T0 + 7210, "merhaba", "greet"),
                *action(T0 + 7213, "utter_greet", "utter_greet"),
            ],
            # WhatsApp, EN: not sure, then asks for a person (handoff)
            "whatsapp:+905551110001": [
                *session_start(T0 + 100),
                *user(T0 + 110, "my card 4111 1111 1111 1111 was charged twice", "nlu_fallback", 0.3, "en"),
                *kb_not_sure(T0 + 112, "my card 4111 1111 1111 1111 was charged twice"),
                *user(T0 + 130, "/request_human", "request_human", 1.0, "en"),
                *action(T0 + 131, "action_request_human", "utter_handoff_recorded", handoff_requested=True),
            ],
            # REST: one message, no bot reply stored yet; and an EXTERNAL_ trigger is not a customer message
            "rest-1": [*session_start(T0 + 200), *user(T0 + 205, "hello", "greet", language="en")],
            "web:ghost": [*session_start(T0 + 300), *user(T0 + 301, None, "EXTERNAL_handoff_closed")],
        },
    )


def test_channel_from_the_sender_id_prefix() -> None:
    assert [channel_of(s) for s in ("web:1", "whatsapp:+90", "rest-1", "shell-x", "webx")] == ["web", "whatsapp", "rest", "rest", "rest"]


def test_reader_turns_events_into_sessions_and_turns(tracker: Path) -> None:
    before = tracker.read_bytes()
    conversations = read_conversations(tracker)
    assert tracker.read_bytes() == before  # opened read-only
    assert [(c.sender_id, c.session) for c in conversations] == [
        ("web:ayse", 0),
        ("whatsapp:+905551110001", 0),
        ("rest-1", 0),
        ("web:ghost", 0),
        ("web:ayse", 1),
    ]
    first, whatsapp, rest, ghost, second = conversations
    assert (first.channel, first.language, whatsapp.channel, whatsapp.language, rest.channel) == ("web", "tr", "whatsapp", "en", "rest")
    answered, rating = first.turns
    assert (answered.text, answered.intent, answered.confidence) == ("kargom nerede", "faq", 0.9)
    assert answered.entities[0]["entity"] == "language"
    assert [a.name for a in answered.actions] == ["action_answer_from_kb"]
    assert [b.response for b in answered.bot] == ["utter_kb_answer", "utter_ask_helpful"]
    assert (answered.kb_article_id, answered.kb_score, answered.kb_answered) == ("track-tr", 0.8, True)
    assert (answered.feedback, answered.feedback_at, rating.feedback) == (True, T0 + 20.51, None)  # on the rated answer
    assert first.first_user_at == T0 + 10 and first.first_response_at == pytest.approx(T0 + 11.51)
    assert first.last_at == pytest.approx(T0 + 20.52)  # the next session's events are not this one's
    # carried-over slots at session start are not a new KB answer
    assert second.turns[0].kb_answered is None and second.language == "tr"
    assert whatsapp.handed_off and not first.handed_off
    assert whatsapp.turns[0].kb_answered is False
    assert rest.first_response_at is None
    assert ghost.user_turns == [] and ghost.turns[0].external
    assert [c.session for c in conversations_of(tracker, "web:ayse")] == [0, 1]


def test_reader_tolerates_a_missing_store(tmp_path: Path) -> None:
    missing = tmp_path / "none.sqlite3"
    assert read_conversations(missing) == [] and not missing.exists()
    sqlite3.connect(tmp_path / "empty.sqlite3").close()
    assert read_conversations(tmp_path / "empty.sqlite3") == []


def test_date_range_selects_by_start(tracker: Path) -> None:
    assert {c.sender_id for c in read_conversations(tracker, since=T0 + 150, until=T0 + 400)} == {"rest-1", "web:ghost"}


SUPPORT_SCHEMA = """
CREATE TABLE handoffs (id INTEGER PRIMARY KEY, sender_id TEXT NOT NULL, customer_id TEXT, channel TEXT, language TEXT,
    reason TEXT, priority INTEGER, status TEXT, agent TEXT, created_at REAL, claimed_at REAL,
    first_agent_reply_at REAL, closed_at REAL);
CREATE TABLE csat_ratings (handoff_id INTEGER, sender_id TEXT, channel TEXT, rating INTEGER, created_at REAL);
CREATE TABLE campaigns (id INTEGER PRIMARY KEY, name TEXT NOT NULL, parent_id INTEGER, created_at REAL NOT NULL);
CREATE TABLE campaign_recipients (id INTEGER PRIMARY KEY, campaign_id INTEGER NOT NULL, state TEXT NOT NULL,
    skip_reason TEXT NOT NULL DEFAULT '', delivery TEXT NOT NULL DEFAULT '', replied INTEGER NOT NULL DEFAULT 0,
    opted_out_after INTEGER NOT NULL DEFAULT 0);
"""


def support_db(path: Path) -> Path:
    with sqlite3.connect(path) as db:
        db.executescript(SUPPORT_SCHEMA)
        db.execute(
            "INSERT INTO handoffs VALUES (1, 'whatsapp:+905551110001', NULL, 'whatsapp', 'en', 'customer_asked', 0, 'closed', 'agent1', ?, ?, ?, ?)",
            (T0 + 131, T0 + 140, T0 + 191, T0 + 731),
        )
        # a handoff in ayse's second session, that the tracker does not show (e.g. an agent took over)
        db.execute(
            "INSERT INTO handoffs VALUES (2, 'web:ayse', NULL, 'web', 'tr', 'agent_takeover', 0, 'queued', NULL, ?, NULL, NULL, NULL)",
            (T0 + 7220,),
        )
        # channel as the handoff feature stores it: Rasa's input channel name ("webchat")
        db.executemany(
            "INSERT INTO csat_ratings VALUES (?, ?, ?, ?, ?)",
            [
                (1, "whatsapp:+905551110001", "whatsapp", 2, T0 + 740),
                (2, "web:ayse", "webchat", 5, T0 + 7300),
                (9, "web:x", "web", 4, T0 + 90000),
            ],
        )
        # the campaigns branch's columns; "weekly" recurs, its occurrence 3 counts under it
        db.executemany(
            "INSERT INTO campaigns VALUES (?, ?, ?, ?)", [(1, "outage", None, T0), (2, "weekly", None, T0 + 10), (3, "weekly", 2, T0 + 20)]
        )
        db.executemany(
            "INSERT INTO campaign_recipients (campaign_id, state, delivery, replied, opted_out_after) VALUES (?, ?, ?, ?, ?)",
            [
                (1, "sent", "delivered", 0, 0),
                (1, "sent", "read", 1, 0),
                (1, "sent", "failed", 0, 0),
                (1, "skipped", "", 0, 0),
                (1, "pending", "", 0, 0),
                (1, "sent", "", 0, 0),
                (3, "sent", "read", 0, 1),
                (3, "failed", "", 0, 0),
            ],
        )
        # answer_feedback without its columns; handoff_requests absent
        db.execute("CREATE TABLE answer_feedback (id INTEGER PRIMARY KEY)")
    return path


def test_figures_match_hand_computation(tracker: Path, tmp_path: Path) -> None:
    data = read_support_data(support_db(tmp_path / "destek.sqlite3"))
    assert data.answer_feedback is None and data.handoff_requests is None
    assert data.problems == [
        "table answer_feedback lacks column(s) sender_id, article_id, helpful, created_at (see docs/interfaces.md); shown as no data"
    ]
    utc = ZoneInfo("UTC")
    figures = compute(read_conversations(tracker), data, Filters(timezone=utc))
    # 4 conversations with a customer message (the EXTERNAL_-only one does not count);
    # handed off: whatsapp (tracker + handoffs row) and ayse's 2nd session (handoffs row only)
    assert figures.conversations == 4 and figures.by_channel == {"rest": 1, "web": 2, "whatsapp": 1}
    assert (figures.contained, figures.handed_off) == (2, 2)
    assert figures.containment == 0.5 and figures.handoff_rate == 0.5
    assert dict(figures.handoff_reasons) == {"customer_asked": 1, "agent_takeover": 1}
    # first responses: ayse 1.51 s, whatsapp 2.01 s, ayse again 3.01 s; rest-1 got no reply
    assert figures.first_response_bot.n == 3
    assert figures.first_response_bot.median == pytest.approx(2.01)
    assert figures.first_response_bot.p90 == pytest.approx(3.01)
    # contained: ayse session 0 (10 → 20.52) and rest-1 (205 → 205.0: its last event is the language slot)
    assert figures.resolution_bot.n == 2 and figures.resolution_bot.mean == pytest.approx(5.26)
    assert figures.first_response_human == Durations(1, 60.0, 60.0, 60.0)
    assert figures.resolution_human == Durations(1, 600.0, 600.0, 600.0)
    assert figures.csat_overall is not None and figures.csat_overall.count == 3
    assert {k: v.average for k, v in figures.csat_per_channel.items()} == {"web": 4.5, "whatsapp": 2.0}
    assert figures.csat_per_channel["web"].satisfied == 1.0 and figures.csat_per_channel["whatsapp"].satisfied == 0.0
    assert [(day, c.average) for day, c in figures.csat_per_day] == [("2026-09-21", 3.5), ("2026-09-22", 4.0)]
    assert figures.top_intents[0] == ("greet", 2)
    assert [(a.article_id, a.answers, a.helpful, a.not_helpful) for a in figures.top_articles] == [("track-tr", 1, 1, 0)]
    assert (figures.kb_answered, figures.kb_unanswered) == (1, 1)
    assert figures.top_unanswered == [("my card [CARD] was charged twice", 1)]  # redacted
    assert [(c.name, c.recipients, c.by_outcome, c.replies, c.opt_outs) for c in figures.campaigns or []] == [
        ("weekly", 2, {"failed": 1, "read": 1}, 0, 1),
        ("outage", 6, {"pending": 1, "skipped": 1, "failed": 1, "sent": 1, "delivered": 1, "read": 1}, 1, 0),
    ]
    assert figures.days == ["2026-09-21"] and figures.per_day_channel == {"rest": [1], "web": [2], "whatsapp": [1]}

    web_tr = compute(read_conversations(tracker), data, Filters(channel="web", language="tr", timezone=utc))
    assert (web_tr.conversations, web_tr.contained, web_tr.handed_off) == (2, 1, 1)
    assert {k: v.average for k, v in web_tr.csat_per_channel.items()} == {"web": 5.0}  # the 3rd rating has no known language

    metrics = {m.name: m for m in text_string_to_metric_families(exposition(figures, SupportCounts.of_rows(data)).decode())}
    assert {s.labels["channel"]: s.value for s in metrics["destek_conversations"].samples} == {"rest": 1, "web": 2, "whatsapp": 1}
    assert metrics["destek_containment_ratio"].samples[0].value == 0.5
    assert metrics["destek_handoff_queue_length"].samples[0].value == 1
    assert metrics["destek_csat_average"].samples[0].value == pytest.approx(11 / 3)
    assert {s.labels["outcome"]: s.value for s in metrics["destek_campaign_recipients"].samples} == {
        "pending": 1,
        "skipped": 1,
        "canceled": 0,
        "failed": 2,
        "sent": 1,
        "delivered": 1,
        "read": 2,
    }
    assert metrics["destek_campaign_opt_outs"].samples[0].value == 1
    assert "destek_kb_feedback" not in metrics  # its table lacks the columns: absent, not zero


def test_no_support_database_means_no_data(tracker: Path, tmp_path: Path) -> None:
    figures = compute(read_conversations(tracker), read_support_data(tmp_path / "missing.sqlite3"), Filters())
    assert figures.csat_overall is None and figures.first_response_human is None and figures.campaigns is None
    assert figures.handed_off == 1  # the tracker alone still shows the requested handoff
    assert not (tmp_path / "missing.sqlite3").exists()


def test_filters_from_the_query_string() -> None:
    utc = ZoneInfo("UTC")
    today = __import__("datetime").date(2026, 11, 23)
    filters, form = parse_filters({}, utc, today)
    assert form["from"] == "2026-10-25" and form["to"] == "2026-11-23"
    assert filters.until is not None and filters.since is not None and filters.until - filters.since == 30 * 86400
    filters, _ = parse_filters(
        {"from": "2026-11-01", "to": "2026-11-01", "channel": "whatsapp", "language": "en"}, ZoneInfo("Europe/Istanbul"), today
    )
    assert filters.since == 1_793_480_400.0 and filters.until == filters.since + 86400  # midnight in Istanbul (UTC+3)
    assert filters.channel == "whatsapp" and filters.language == "en"
    for params, message in (
        ({"from": "2026-13-01"}, "from: '2026-13-01' is not a date (YYYY-MM-DD)"),
        ({"from": "2026-11-05", "to": "2026-11-01"}, "from: 2026-11-05 is after to: 2026-11-01"),
        ({"channel": "sms"}, "channel: 'sms' is not one of web, whatsapp, rest"),
        ({"language": "de"}, "language: 'de' is not one of tr, en"),
    ):
        with pytest.raises(ValueError) as error:
            parse_filters(params, utc, today)
        assert str(error.value) == message


def test_redaction_masks_cards_ibans_and_identity_numbers() -> None:
    text = "kart 4111-1111-1111-1111, IBAN TR33 0006 1005 1978 6457 8413 26, TCKN 10000000146, sipariş 1234"
    assert local_redact(text) == "kart [•••], IBAN [•••], TCKN [•••], sipariş 1234"
    assert redact(text) == "kart [CARD], IBAN [IBAN], TCKN [TCKN], sipariş 1234"  # the checksum-validated kinds first
    assert redact("kart 4111 1111 1111 1112") == "kart [•••]"  # a mistyped card number is still masked here


def request_from(host: str, headers: dict[str, str]) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "method": "GET", "path": "/metrics", "headers": raw, "client": (host, 5000)})


def test_metrics_access_rules() -> None:
    assert metrics_allowed(request_from("127.0.0.1", {}), "")
    assert metrics_allowed(request_from("::1", {}), "")
    assert not metrics_allowed(request_from("10.0.0.5", {}), "")
    assert not metrics_allowed(request_from("127.0.0.1", {"X-Forwarded-For": "203.0.113.9"}), "")  # via a local proxy
    assert metrics_allowed(request_from("10.0.0.5", {"Authorization": "Bearer s3cret"}), "s3cret")
    assert not metrics_allowed(request_from("127.0.0.1", {}), "s3cret")  # a token, once set, is always needed
    assert not metrics_allowed(request_from("10.0.0.5", {"Authorization": "Bearer wrong"}), "s3cret")


def test_charts_escape_text_and_scale_axes() -> None:
    from analytics import svg

    drawn = svg.horizontal_bars("c", "Top <b>", "d", [("<img src=x onerror=alert(1)>", 3)], "n")
    assert "<img" not in drawn and "&lt;img src=x onerror=alert(1)&gt;" in drawn
    assert drawn.startswith('<svg class="chart" id="c"') and 'role="img"' in drawn and '<title id="c-title">Top &lt;b&gt;</title>' in drawn
    bars = svg.stacked_bars("s", "t", "d", ["d1", "d2"], {"web": [1, 0], "whatsapp": [2, 3]}, "day", "conversations")
    assert bars.count("<rect") == 2 + 3  # two legend keys, three non-zero bar segments
    assert [svg._scale(v) for v in (0, 3, 7, 47, 1012)] == [(1.0, 1), (3.0, 3), (8.0, 4), (50.0, 5), (1200.0, 6)]


def test_a_bad_time_zone_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from support_app.console.dashboard import analytics_timezone

    monkeypatch.setenv("ANALYTICS_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ValueError, match=r"^ANALYTICS_TIMEZONE: 'Mars/Olympus' is not a known time zone$"):
        analytics_timezone()
    monkeypatch.setenv("ANALYTICS_TIMEZONE", "UTC")
    assert analytics_timezone() == ZoneInfo("UTC")
