"""Additive-increase / multiplicative-decrease of a request rate: the arithmetic alone, no clock, no threads.

The budget starts where it is told (the configured ceiling, or what an earlier run learned), is cut by a
factor on every rate-limit answer, and creeps back up by a small step after about one second's worth of
successes in a row, never above the ceiling. Cut and creep together make the rate settle just under
whatever the server allows, as TCP's congestion window does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

DECREASE_FACTOR = 0.7  # as CUBIC's: halving would give up more throughput than a one-token overshoot costs
INCREASE_SHARE = 0.05  # of the ceiling per step: 20 steps from nothing to the ceiling
FLOOR_REQUESTS_PER_SECOND = 0.1  # one request every 10 s at worst; cuts stop here


@dataclass
class AimdRate:
    """A rate in requests per second between `floor` and `ceiling`."""

    ceiling: float
    rate: float
    floor: float = field(default=FLOOR_REQUESTS_PER_SECOND)
    decrease_factor: float = DECREASE_FACTOR
    increase_step: float | None = None  # None: INCREASE_SHARE of the ceiling
    announced: float | None = None  # what the server's own headers say it allows; creep stops there
    _successes: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        if self.ceiling <= 0:
            raise ValueError(f"ceiling {self.ceiling!r} must be above 0 requests per second")
        if not 0 < self.decrease_factor < 1:
            raise ValueError(f"decrease_factor {self.decrease_factor!r} must be between 0 and 1")
        self.floor = min(self.floor, self.ceiling)
        if self.increase_step is None:
            self.increase_step = self.ceiling * INCREASE_SHARE
        self.rate = min(self.ceiling, max(self.floor, self.rate))

    def succeeded(self) -> bool:
        """One success; after `ceil(rate)` in a row (about a second of traffic) the rate steps up.
        Returns whether it did."""
        top = self.ceiling if self.announced is None else min(self.ceiling, self.announced)
        self._successes += 1
        if self._successes < math.ceil(self.rate) or self.rate >= top:
            return False
        self._successes = 0
        self.rate = min(top, self.rate + self.increase_step)
        return True

    def throttled(self) -> float:
        """A rate-limit answer: cut the rate, restart the run of successes. Returns the new rate."""
        self._successes = 0
        self.rate = max(self.floor, self.rate * self.decrease_factor)
        return self.rate

    def announce(self, rate: float) -> bool:
        """The server said how much it allows: never plan above it. Returns whether the rate dropped."""
        self.announced = rate
        if rate >= self.rate:
            return False
        self._successes = 0
        self.rate = max(self.floor, rate)
        return True
