"""Failed-login limits for the staff and the shop logins (the `limits` library, moving windows).

Three limits, each counting failed attempts only:
- per login *and* client address: 5 in 15 minutes. Someone guessing from one place is stopped,
  while the account's owner, on another address, can still log in;
- per client address, any login: 30 in 15 minutes (one place trying many logins);
- per login, any client: 100 in an hour, slower, against guessing spread over many addresses.
  Locking the owner out this way needs 20 addresses each spending its 5 attempts.
The client address is what uvicorn reports (behind a local reverse proxy: its X-Forwarded-For,
uvicorn's --proxy-headers default).

Where the counts live: with the cluster settings (DESTEK_REDIS_URL) in Redis, under
`<DESTEK_REDIS_PREFIX>:login:`, so every support-app process of the install counts the same
failures (with counts per process, N processes allowed N times the attempts); else in the process
(the embedded default runs one). Logins are hashed in the keys: Redis holds no shop login names.
With Redis configured but down a login answers 500 rather than skip the limit.
"""

import hashlib

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter

from settings.model import get_settings

PER_LOGIN_AND_CLIENT = "5 per 15 minutes"
PER_CLIENT = "30 per 15 minutes"
PER_LOGIN = "100 per hour"


class LoginThrottle:
    def __init__(
        self, namespace: str, per_login_and_client: str = PER_LOGIN_AND_CLIENT, per_client: str = PER_CLIENT, per_login: str = PER_LOGIN
    ) -> None:
        self.namespace = namespace
        self._limiter = MovingWindowRateLimiter(storage())
        self._pair: RateLimitItem = parse(per_login_and_client)
        self._client: RateLimitItem = parse(per_client)
        self._login: RateLimitItem = parse(per_login)

    def _keys(self, login: str, client: str) -> tuple[tuple[RateLimitItem, tuple[str, ...]], ...]:
        login = hashlib.sha256(login.encode("utf-8")).hexdigest()[:32]
        return (
            (self._pair, (self.namespace, "pair", login, client)),
            (self._client, (self.namespace, "client", client)),
            (self._login, (self.namespace, "login", login)),
        )

    def blocked(self, login: str, client: str) -> bool:
        """Whether a login attempt must be refused without checking the password."""
        return any(not self._limiter.test(item, *key) for item, key in self._keys(login, client))

    def failed(self, login: str, client: str) -> None:
        for item, key in self._keys(login, client):
            self._limiter.hit(item, *key)

    def succeeded(self, login: str, client: str) -> None:
        """A right password from this client forgets its failures for this login (not the others)."""
        item, key = self._keys(login, client)[0]
        self._limiter.clear(item, *key)


def storage() -> Storage:
    """Redis when DESTEK_REDIS_URL is set (shared by every process), else this process's memory."""
    cluster = get_settings().cluster
    if not cluster.redis_url:
        return MemoryStorage()
    return RedisStorage(cluster.redis_url, key_prefix=f"{cluster.redis_prefix}:login", socket_timeout=5, socket_connect_timeout=5)
