"""How the dashboard writes numbers: percentages, durations, averages ("–" for no data)."""

NO_DATA = "–"


def percent(share: float | None) -> str:
    return NO_DATA if share is None else f"{share * 100:.1f} %"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return NO_DATA
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60)} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"


def average(value: float | None) -> str:
    return NO_DATA if value is None else f"{value:.2f}"
