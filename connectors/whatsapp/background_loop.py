"""An asyncio event loop in a daemon thread.

Rasa 3.6 runs its NLU and policy graph synchronously on the server's event loop, so while a
message is being processed nothing else on that loop moves. Running the WhatsApp channel's
message handling on this second loop keeps the server's loop free to acknowledge webhooks
within milliseconds.

While the background thread computes, the server's thread waits for the GIL after each of its
system calls, by default up to 5 ms each time; starting the loop lowers that switch interval
(process-wide) to 0.1 ms. Measured with bench/whatsapp_ack.py (ack p95, messages/s): with the
DIET pipeline (TensorFlow releases the GIL) 1 ms was enough (~40 ms); the numpy/scikit-learn
pipeline holds the GIL while it computes, and 1 ms gave 94-99 ms, 0.2 ms 47-49 ms, 0.1 ms 22 ms
at 15 instead of 17 messages/s.
"""

import asyncio
import sys
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from typing import Any

SWITCH_INTERVAL = 0.0001  # seconds


class BackgroundLoop:
    def __init__(self, name: str) -> None:
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._guard = threading.Lock()

    def _ensure_started(self) -> asyncio.AbstractEventLoop:
        with self._guard:
            if self._loop is None:
                ready = threading.Event()
                loop = asyncio.new_event_loop()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL))
                threading.Thread(target=run, name=self.name, daemon=True).start()
                ready.wait(timeout=10)
                self._loop = loop
            return self._loop

    def submit(self, coroutine: Coroutine[Any, Any, Any]) -> "Future[Any]":
        """Run the coroutine on the background loop (from any thread)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._ensure_started())

    def call(self, callback: Callable[..., Any], *args: Any) -> None:
        """Call a plain function on the background loop (from any thread)."""
        self._ensure_started().call_soon_threadsafe(callback, *args)
