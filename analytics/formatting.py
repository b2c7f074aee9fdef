"""How the dashboard writes numbers: percentages, durations, averages ("–" for no data)."""

from typing import Optional

NO_DATA = "–"


def percent(share: Optional[float]) -> str:
    return NO_DATA if share is None else f"{share * 100:.1f} %"


def duration(seconds: Optional[float]) -> str:
    if seconds is None:
        return NO_DATA
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60)} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"


def average(value: Optional[float]) -> str:
    return NO_DATA if value is None else f"{value:.2f}"
