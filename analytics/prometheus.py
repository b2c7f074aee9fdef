"""/metrics for operations, in Prometheus' text exposition format (written by prometheus_client).

Values are recomputed from the stores (or read from the analytics aggregates and counted in SQL) at each
scrape (no in-process counters: the support app may run several workers). Totals count everything stored;
ratios are over all stored conversations.
"""

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

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


@dataclass
class SupportCounts:
    """What /metrics shows of the support tables (everything stored); None: the table is not there."""

    feedback: Counter[bool] | None  # answer_feedback: helpful → votes
    handoff_requests: Counter[str] | None  # reason → requests
    handoffs: Counter[tuple[str, str]] | None  # (reason, status) → handoffs
    recipient_outcomes: Counter[str] | None  # campaign_recipients: outcome → recipients
    opt_outs: int | None

    @classmethod
    def of_rows(cls, data: SupportData) -> "SupportCounts":
        """From the rows analytics.support_db read (the recompute path); analytics.support_sql counts the same in SQL."""
        recipients = data.campaign_recipients
        return cls(
            None if data.answer_feedback is None else Counter(bool(row["helpful"]) for row in data.answer_feedback),
            None if data.handoff_requests is None else Counter(str(r["reason"]) for r in data.handoff_requests),
            None if data.handoffs is None else Counter((str(h["reason"]), str(h["status"])) for h in data.handoffs),
            None if recipients is None else Counter(recipient_outcome(r) for r in recipients),
            None if recipients is None else sum(int(r["opted_out_after"] or 0) for r in recipients),
        )


def exposition(figures: Figures, counts: SupportCounts) -> bytes:
    """figures: computed over everything stored (no filters)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(families(figures, counts)))
    return generate_latest(registry)


def families(figures: Figures, counts: SupportCounts) -> list[Metric]:
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

    if counts.feedback is not None:
        feedback = CounterMetricFamily("destek_kb_feedback", "Ratings of knowledge-base answers.", labels=["helpful"])
        feedback.add_metric(["true"], counts.feedback.get(True, 0))
        feedback.add_metric(["false"], counts.feedback.get(False, 0))
        out.append(feedback)

    if counts.handoff_requests is not None:
        requests = CounterMetricFamily("destek_handoff_requests", "Handoff requests the bot recorded, by reason.", labels=["reason"])
        for reason, n in sorted(counts.handoff_requests.items()):
            requests.add_metric([reason], n)
        out.append(requests)

    if counts.handoffs is not None:
        handoffs = GaugeMetricFamily("destek_handoffs", "Handoffs by reason and current status.", labels=["reason", "status"])
        for (reason, status), n in sorted(counts.handoffs.items()):
            handoffs.add_metric([reason, status], n)
        out.append(handoffs)
        out.append(
            GaugeMetricFamily(
                "destek_handoff_queue_length",
                "Handoffs waiting for an agent (status queued).",
                value=sum(n for (_, status), n in counts.handoffs.items() if status == "queued"),
            )
        )

    csat = figures.csat_overall
    if csat is not None:
        out.append(CounterMetricFamily("destek_csat_ratings", "CSAT ratings received (1-5).", value=csat.count))
        if csat.average is not None:
            out.append(GaugeMetricFamily("destek_csat_average", "Mean CSAT rating (1-5) over all ratings.", value=csat.average))

    if counts.recipient_outcomes is not None:
        sends = GaugeMetricFamily(
            "destek_campaign_recipients", "Campaign recipients by outcome (send state, then delivery).", labels=["outcome"]
        )
        for outcome in sorted(set(OUTCOMES) | set(counts.recipient_outcomes)):
            sends.add_metric([outcome], counts.recipient_outcomes.get(outcome, 0))
        out.append(sends)
        out.append(
            CounterMetricFamily("destek_campaign_opt_outs", "Recipients who opted out after a campaign.", value=counts.opt_outs or 0)
        )
    return out
