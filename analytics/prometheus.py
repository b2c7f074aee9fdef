"""/metrics for operations, in Prometheus' text exposition format (written by prometheus_client).

Values are recomputed from the stores at each scrape (no in-process counters: the support app
may run several workers, and the tracker store is the truth). Totals count everything stored;
ratios are over all stored conversations.
"""

from collections import Counter
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from analytics.figures import OUTCOMES, Figures, recipient_outcome
from analytics.support_db import SupportData
from analytics.tracker import CHANNELS

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _Snapshot:
    """A collector that yields metric families computed once."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


def exposition(figures: Figures, data: SupportData) -> bytes:
    """figures: computed over everything stored (no filters)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(families(figures, data)))
    return generate_latest(registry)


def families(figures: Figures, data: SupportData) -> list[Metric]:
    out: list[Metric] = []
    total = CounterMetricFamily(
        "destek_conversations", "Conversations (Rasa sessions) with at least one customer message.", labels=["channel"]
    )
    for channel in sorted(set(CHANNELS) | set(figures.by_channel)):
        total.add_metric([channel], figures.by_channel.get(channel, 0))
    out.append(total)
    if figures.containment is not None:
        out.append(
            GaugeMetricFamily("destek_containment_ratio", "Share of conversations resolved without a person.", value=figures.containment)
        )

    kb = CounterMetricFamily("destek_kb_answers", "Knowledge-base lookups by outcome.", labels=["outcome"])
    kb.add_metric(["answered"], figures.kb_answered)
    kb.add_metric(["unanswered"], figures.kb_unanswered)
    out.append(kb)

    if data.answer_feedback is not None:
        feedback = CounterMetricFamily("destek_kb_feedback", "Ratings of knowledge-base answers.", labels=["helpful"])
        votes = Counter(bool(row["helpful"]) for row in data.answer_feedback)
        feedback.add_metric(["true"], votes.get(True, 0))
        feedback.add_metric(["false"], votes.get(False, 0))
        out.append(feedback)

    if data.handoff_requests is not None:
        requests = CounterMetricFamily("destek_handoff_requests", "Handoff requests the bot recorded, by reason.", labels=["reason"])
        for reason, n in sorted(Counter(str(r["reason"]) for r in data.handoff_requests).items()):
            requests.add_metric([reason], n)
        out.append(requests)

    if data.handoffs is not None:
        handoffs = GaugeMetricFamily("destek_handoffs", "Handoffs by reason and current status.", labels=["reason", "status"])
        for (reason, status), n in sorted(Counter((str(h["reason"]), str(h["status"])) for h in data.handoffs).items()):
            handoffs.add_metric([reason, status], n)
        out.append(handoffs)
        out.append(
            GaugeMetricFamily(
                "destek_handoff_queue_length",
                "Handoffs waiting for an agent (status queued).",
                value=sum(1 for h in data.handoffs if h["status"] == "queued"),
            )
        )

    csat = figures.csat_overall
    if csat is not None:
        out.append(CounterMetricFamily("destek_csat_ratings", "CSAT ratings received (1-5).", value=csat.count))
        if csat.average is not None:
            out.append(GaugeMetricFamily("destek_csat_average", "Mean CSAT rating (1-5) over all ratings.", value=csat.average))

    if data.campaign_recipients is not None:
        sends = GaugeMetricFamily(
            "destek_campaign_recipients", "Campaign recipients by outcome (send state, then delivery).", labels=["outcome"]
        )
        outcomes = Counter(recipient_outcome(r) for r in data.campaign_recipients)
        for outcome in sorted(set(OUTCOMES) | set(outcomes)):
            sends.add_metric([outcome], outcomes.get(outcome, 0))
        out.append(sends)
        out.append(
            CounterMetricFamily(
                "destek_campaign_opt_outs",
                "Recipients who opted out after a campaign.",
                value=sum(int(r["opted_out_after"] or 0) for r in data.campaign_recipients),
            )
        )
    return out
