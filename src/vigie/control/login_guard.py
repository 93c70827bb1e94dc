"""What failed sign-ins cost, so that guessing is slow and nobody can lock a
user out from elsewhere (see docs/design/authority.md, "Sign-in").

Three counters:

- per client address (``IpThrottle``): ``IP_MAX_FAILURES`` failures over
  ``IP_WINDOW_S`` and the address is refused for a while, whatever the account;
- per account *and* address: ``login_max_failures`` consecutive failures lock
  that address out of that account for ``login_lockout_s`` (15 min);
- per account, whatever the address (``Account.failed_logins`` /
  ``locked_until``, in the database): from the ``login_max_failures``-th
  consecutive failure on, each failure pauses the account for 1, 2, 4… s, at
  most ``login_backoff_max_s``; attempts during a pause are refused without
  being counted. A success resets the account and its address.

Address counters live in memory (a restart forgets them; the account's pause
is kept). Times come from the clock handed down: monotonic for memory, wall
time for the database.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from vigie.base.settings import Settings
from vigie.storage.models import Account

IP_WINDOW_S = 300.0
IP_MAX_FAILURES = 20


class IpThrottle:
    """Failed sign-ins per client address over a sliding window (in memory)."""

    def __init__(self) -> None:
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def blocked(self, ip: str, now_s: float) -> bool:
        q = self._failures[ip]
        while q and q[0] < now_s - IP_WINDOW_S:
            q.popleft()
        return len(q) >= IP_MAX_FAILURES

    def fail(self, ip: str, now_s: float) -> None:
        self._failures[ip].append(now_s)


@dataclass
class _PairState:
    failures: int = 0
    locked_until_s: float = float("-inf")
    last_s: float = 0.0


class LoginGuard:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.throttle = IpThrottle()
        self._pairs: dict[tuple[int, str], _PairState] = {}

    def account_locked(self, account: Account, ip: str, *, now: datetime, now_s: float) -> bool:
        """Locked for this address, or the account pausing after failures."""
        pair = self._pairs.get((account.id, ip))
        if pair is not None and pair.locked_until_s > now_s:
            return True
        return account.locked_until is not None and account.locked_until > now

    def failed(self, account: Account, ip: str, *, now: datetime, now_s: float) -> None:
        """A wrong password or code for ``account`` from ``ip``."""
        self._forget_old(now_s)
        limit = self.settings.login_max_failures
        pair = self._pairs.setdefault((account.id, ip), _PairState())
        pair.failures += 1
        pair.last_s = now_s
        if pair.failures >= limit:
            pair.locked_until_s = now_s + self.settings.login_lockout_s
            pair.failures = 0
        account.failed_logins += 1
        if account.failed_logins >= limit:
            doublings = min(account.failed_logins - limit, 30)
            pause_s = min(2.0**doublings, self.settings.login_backoff_max_s)
            account.locked_until = now + timedelta(seconds=pause_s)

    def succeeded(self, account: Account, ip: str) -> None:
        account.failed_logins = 0
        account.locked_until = None
        self._pairs.pop((account.id, ip), None)

    def _forget_old(self, now_s: float) -> None:
        """Drop address states that neither lock nor count any more (bounded memory)."""
        if len(self._pairs) < 10_000:
            return
        horizon = now_s - self.settings.login_lockout_s
        self._pairs = {
            k: p for k, p in self._pairs.items() if p.locked_until_s > now_s or p.last_s > horizon
        }
