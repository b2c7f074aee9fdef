"""Waiting for something another process does: poll until it is true, or fail saying what never happened."""

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(check: Callable[[], T], what: str = "the condition", timeout: float = 40.0, interval: float = 0.2) -> T:
    """`check()`'s first truthy result, polled every `interval` seconds; AssertionError naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {check()!r})")
