"""The dashboard's charts, drawn from one Figures as SVG strings (see analytics/svg.py)."""

from analytics import formatting, svg
from analytics.figures import OUTCOMES, Figures

CHANNEL_NAMES = {"web": "Web", "whatsapp": "WhatsApp", "rest": "REST/other"}
LANGUAGE_NAMES = {"tr": "Turkish", "en": "English", "unknown": "unknown"}


def charts(figures: Figures) -> dict[str, str | None]:
    """Chart id → SVG, or None where there is nothing to draw (the page says "no data")."""
    out: dict[str, str | None] = {}
    for by, per_day, names in (("channel", figures.per_day_channel, CHANNEL_NAMES), ("language", figures.per_day_language, LANGUAGE_NAMES)):
        out[f"per-day-{by}"] = (
            svg.stacked_bars(
                f"chart-per-day-{by}",
                f"Conversations per day, by {by}",
                f"{figures.conversations} conversations over {len(figures.days)} days, stacked by {by}.",
                figures.days,
                {names.get(k, k): v for k, v in per_day.items()},
                "day",
                "conversations",
            )
            if figures.days
            else None
        )
    out["outcome"] = (
        svg.horizontal_bars(
            "chart-outcome",
            "Resolved by the bot or handed to a person",
            f"Contained {figures.contained}, handed off {figures.handed_off}, of {figures.conversations} conversations.",
            [("resolved by the bot", figures.contained), ("handed to a person", figures.handed_off)],
            "conversations",
        )
        if figures.conversations
        else None
    )
    out["handoff-reasons"] = (
        svg.horizontal_bars(
            "chart-handoff-reasons",
            "Handoff reasons",
            "Handed-off conversations by reason.",
            [(reason, n) for reason, n in figures.handoff_reasons],
            "conversations",
        )
        if figures.handoff_reasons
        else None
    )
    out["csat-channel"] = (
        svg.horizontal_bars(
            "chart-csat-channel",
            "CSAT by channel (mean rating, 1–5)",
            "Mean CSAT rating per channel.",
            [(CHANNEL_NAMES.get(k, k), c.average) for k, c in figures.csat_per_channel.items() if c.average is not None],
            "mean rating (1–5)",
            formatting.average,
            x_max=5,
        )
        if figures.csat_per_channel
        else None
    )
    out["csat-days"] = (
        svg.lines(
            "chart-csat-days",
            "CSAT over time (mean rating per day)",
            "Mean CSAT rating on each day with ratings.",
            [day for day, _ in figures.csat_per_day],
            {"mean rating": [c.average for _, c in figures.csat_per_day]},
            "day",
            "mean rating (1–5)",
            y_max=5,
        )
        if figures.csat_per_day
        else None
    )
    times = [
        (label, value.median)
        for label, value in (
            ("bot first response", figures.first_response_bot),
            ("human first response", figures.first_response_human),
            ("bot resolution", figures.resolution_bot),
            ("human resolution", figures.resolution_human),
        )
        if value is not None and value.median is not None
    ]
    out["times"] = (
        svg.horizontal_bars(
            "chart-times",
            "Response and resolution times (median)",
            "Median seconds for each measure.",
            times,
            "median",
            formatting.duration,
        )
        if times
        else None
    )
    out["intents"] = (
        svg.horizontal_bars(
            "chart-intents",
            "Top intents",
            "Customer messages per recognised intent.",
            figures.top_intents,
            "messages",
        )
        if figures.top_intents
        else None
    )
    out["articles"] = (
        svg.horizontal_bars(
            "chart-articles",
            "Top articles",
            "Answers given from each knowledge-base article.",
            [(row.article_id, row.answers) for row in figures.top_articles],
            "answers",
        )
        if figures.top_articles
        else None
    )
    if figures.campaigns:
        outcomes = [o for o in OUTCOMES if any(row.by_outcome.get(o) for row in figures.campaigns)]
        out["campaigns"] = svg.stacked_bars(
            "chart-campaigns",
            "Campaign results",
            "Recipients of each campaign, stacked by outcome.",
            [row.name for row in figures.campaigns],
            {o: [row.by_outcome.get(o, 0) for row in figures.campaigns] for o in outcomes},
            "campaign",
            "recipients",
        )
    else:
        out["campaigns"] = None
    return out
