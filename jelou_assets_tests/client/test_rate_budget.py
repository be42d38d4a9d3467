"""The adaptive request budget on its own, on an injected clock: no test waits through a real delay."""

from __future__ import annotations

import logging
from email.utils import formatdate

import pytest

from jelou_assets.client.aimd import AimdRate
from jelou_assets.client.rate_limit_headers import RateLimitHeaders, rate_limit_headers, retry_after_seconds
from jelou_assets.client.rate_limiter import RateLimiter

WALL = 1_800_000_000.0  # the injected Unix time


class FakeClock:
    """Monotonic time that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def limiter(ceiling: float = 5.0, **kwargs) -> tuple[RateLimiter, FakeClock]:
    clock = FakeClock()
    return RateLimiter(ceiling, clock=clock, sleep=clock.sleep, wall_clock=lambda: WALL, **kwargs), clock


def starts(budget: RateLimiter, clock: FakeClock, count: int) -> list[float]:
    """When each of `count` requests in a row may start, relative to the first."""
    times = []
    for _ in range(count):
        budget.acquire()
        times.append(clock.now)
    return [round(t - times[0], 6) for t in times]


# ---- AIMD arithmetic ------------------------------------------------------------------------------


def test_a_throttle_cuts_the_rate_by_the_decrease_factor():
    rate = AimdRate(ceiling=5.0, rate=5.0)
    assert rate.throttled() == pytest.approx(3.5)


def test_cuts_stop_at_the_floor():
    rate = AimdRate(ceiling=5.0, rate=5.0, floor=1.0)
    for _ in range(20):
        rate.throttled()
    assert rate.rate == 1.0


def test_the_rate_creeps_up_one_step_after_a_second_of_successes():
    rate = AimdRate(ceiling=5.0, rate=3.5)
    stepped = [rate.succeeded() for _ in range(4)]  # ceil(3.5) successes: about one second at 3.5 req/s
    assert stepped == [False, False, False, True]
    assert rate.rate == pytest.approx(3.75)  # 5 % of the ceiling


def test_the_rate_never_creeps_above_the_ceiling():
    rate = AimdRate(ceiling=5.0, rate=4.9)
    for _ in range(100):
        rate.succeeded()
    assert rate.rate == 5.0


def test_a_start_above_the_ceiling_is_held_at_the_ceiling():
    assert AimdRate(ceiling=5.0, rate=9.0).rate == 5.0


def test_an_announced_limit_lowers_the_rate_and_caps_the_creep():
    rate = AimdRate(ceiling=5.0, rate=5.0)
    assert rate.announce(4.0)
    for _ in range(100):
        rate.succeeded()
    assert rate.rate == 4.0


# ---- pacing ---------------------------------------------------------------------------------------


def test_requests_start_one_interval_apart_at_the_ceiling():
    budget, clock = limiter(5.0)
    assert starts(budget, clock, 4) == [0.0, 0.2, 0.4, 0.6]


def test_a_429_cuts_the_rate_and_logs_the_cut(caplog):
    budget, clock = limiter(5.0)
    budget.acquire()
    with caplog.at_level(logging.WARNING):
        budget.observe(429, {"Retry-After": "1"})
    assert budget.requests_per_second == pytest.approx(3.5)
    assert budget.cuts == 1 and budget.throttled == 1
    assert "cut from 5.00 to 3.50 requests/s" in caplog.text


def test_a_429_with_retry_after_in_seconds_stops_every_request_until_it_passes():
    budget, clock = limiter(5.0)
    budget.acquire()
    budget.observe(429, {"Retry-After": "2"})
    began = clock.now
    budget.acquire()
    assert clock.now - began == pytest.approx(2.0)


def test_a_429_with_retry_after_as_an_http_date_stops_every_request_until_that_instant():
    budget, clock = limiter(5.0)
    budget.acquire()
    budget.observe(429, {"Retry-After": formatdate(WALL + 3, usegmt=True)})
    began = clock.now
    budget.acquire()
    assert clock.now - began == pytest.approx(3.0)


def test_after_the_pause_requests_follow_at_the_cut_rate():
    budget, clock = limiter(5.0)
    budget.acquire()
    budget.observe(429, {"Retry-After": "1"})
    assert starts(budget, clock, 3) == pytest.approx([0.0, 1 / 3.5, 2 / 3.5])


def test_a_429_without_retry_after_waits_one_interval_at_the_cut_rate():
    budget, clock = limiter(5.0)
    budget.acquire()
    budget.observe(429, {})
    began = clock.now
    budget.acquire()
    assert clock.now - began == pytest.approx(1 / 3.5)


def test_an_hour_long_retry_after_pauses_no_longer_than_the_longest_retry_wait():
    budget, clock = limiter(5.0, max_pause_s=60.0)
    budget.acquire()
    budget.observe(429, {"Retry-After": "3600"})
    began = clock.now
    budget.acquire()
    assert clock.now - began == pytest.approx(60.0)


def test_429s_to_requests_sent_before_a_cut_do_not_cut_again():
    # Four pages in flight are answered 429 together: one signal, one cut (as TCP treats a window's losses).
    budget, clock = limiter(5.0)
    for _ in range(4):
        budget.acquire()
    for _ in range(4):
        budget.observe(429, {"Retry-After": "1"})
    assert budget.cuts == 1 and budget.throttled == 4
    assert budget.requests_per_second == pytest.approx(3.5)


def test_a_429_to_a_request_sent_after_the_cut_cuts_again():
    budget, clock = limiter(5.0)
    budget.acquire()
    budget.observe(429, {"Retry-After": "1"})
    budget.acquire()
    budget.observe(429, {"Retry-After": "1"})
    assert budget.cuts == 2
    assert budget.requests_per_second == pytest.approx(3.5 * 0.7)


def test_successes_after_a_cut_creep_the_rate_back_up():
    budget, clock = limiter(5.0)
    budget.acquire()
    budget.observe(429, {"Retry-After": "1"})
    for _ in range(4):
        budget.acquire()
        budget.observe(200, {})
    assert budget.requests_per_second == pytest.approx(3.75)


def test_after_a_cut_the_learned_rate_is_the_rate_right_after_it_not_the_creep_since():
    budget, clock = limiter(5.0)
    budget.acquire()
    budget.observe(429, {"Retry-After": "1"})
    for _ in range(8):
        budget.acquire()
        budget.observe(200, {})
    assert budget.requests_per_second == pytest.approx(4.0)
    assert budget.learned_requests_per_second == pytest.approx(3.5)


def test_a_run_started_from_a_learned_rate_and_never_cut_learns_one_step_more():
    budget, clock = limiter(5.0, start_requests_per_second=3.0)
    for _ in range(20):
        budget.acquire()
        budget.observe(200, {})
    assert budget.requests_per_second == pytest.approx(4.25)  # 3 + 5 steps of 0.25 after 3, 4, 4, 4, 4 successes
    assert budget.learned_requests_per_second == pytest.approx(3.25)


def test_with_nothing_learned_and_no_cut_the_learned_rate_is_the_ceiling():
    budget, clock = limiter(5.0)
    budget.acquire()
    budget.observe(200, {})
    assert budget.learned_requests_per_second == 5.0

def test_server_errors_neither_cut_nor_creep():
    budget, clock = limiter(5.0, start_requests_per_second=3.0)
    for _ in range(10):
        budget.acquire()
        budget.observe(500, {})
    assert budget.requests_per_second == 3.0 and budget.cuts == 0


def test_the_budget_starts_at_the_learned_rate_below_the_ceiling():
    budget, clock = limiter(5.0, start_requests_per_second=2.0)
    assert starts(budget, clock, 3) == [0.0, 0.5, 1.0]


def test_a_share_of_the_account_reports_the_account_wide_rate():
    budget, _ = limiter(5.0, start_requests_per_second=2.0, share=0.5)
    assert budget.learned_requests_per_second == 4.0


def test_a_policy_header_lowers_the_rate_to_what_it_allows():
    budget, clock = limiter(5.0)
    budget.acquire()
    budget.observe(200, {"RateLimit-Limit": "4", "RateLimit-Policy": "4;w=1"})
    assert budget.requests_per_second == 4.0 and budget.cuts == 0


def test_a_policy_header_is_shared_between_concurrent_runs():
    budget, clock = limiter(5.0, share=0.5)
    budget.acquire()
    budget.observe(200, {"RateLimit-Policy": "4;w=1"})
    assert budget.requests_per_second == 2.0


def test_an_exhausted_quota_stops_every_request_until_its_reset():
    budget, clock = limiter(5.0)
    budget.acquire()
    budget.observe(200, {"RateLimit-Limit": "10", "RateLimit-Remaining": "0", "RateLimit-Reset": "3"})
    began = clock.now
    budget.acquire()
    assert clock.now - began == pytest.approx(3.0)


def test_a_low_quota_spreads_what_is_left_until_its_reset():
    budget, clock = limiter(5.0)
    budget.acquire()
    budget.observe(200, {"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "2", "X-RateLimit-Reset": str(int(WALL) + 2)})
    began = clock.now
    budget.acquire()
    assert clock.now - began == pytest.approx(1.0)  # 2 left over 2 s


def test_a_slot_reserved_before_a_429_is_reserved_again_after_the_pause():
    # A thread already waiting for its slot must not send inside another thread's Retry-After.
    clock = FakeClock()
    budget: RateLimiter

    def sleep(seconds: float) -> None:
        if not interrupted:
            interrupted.append(True)
            budget.observe(429, {"Retry-After": "2"})  # another thread's answer arrives meanwhile
        clock.sleep(seconds)

    interrupted: list[bool] = []
    budget = RateLimiter(5.0, clock=clock, sleep=sleep, wall_clock=lambda: WALL)
    budget.acquire()  # slot at 100.0, no wait
    began = clock.now
    budget.acquire()  # reserves 100.2, sleeps; the 429 lands during the sleep
    assert clock.now - began >= 2.0


# ---- header parsing -------------------------------------------------------------------------------


@pytest.mark.parametrize("value,seconds", [
    ("5", 5.0),
    (formatdate(WALL + 7, usegmt=True), 7.0),
    (formatdate(WALL - 7, usegmt=True), 0.0),  # a date in the past: retry now
    ("soon", None),
    (None, None),
])
def test_retry_after_is_read_as_seconds_or_an_http_date(value, seconds):
    assert retry_after_seconds(value, WALL) == seconds


def test_draft_headers_are_read_with_their_policy_window():
    quota = rate_limit_headers(
        {"RateLimit-Limit": "100", "RateLimit-Remaining": "40", "RateLimit-Reset": "30", "RateLimit-Policy": "100;w=60"}, WALL
    )
    assert quota == RateLimitHeaders(limit=100, remaining=40, reset_s=30.0, window_s=60.0)
    assert quota.sustained_requests_per_second == pytest.approx(100 / 60)


def test_structured_draft_headers_are_read():
    quota = rate_limit_headers({"RateLimit": '"default";r=45;t=30', "RateLimit-Policy": '"default";q=100;w=60'}, WALL)
    assert quota == RateLimitHeaders(limit=100, remaining=45, reset_s=30.0, window_s=60.0)


def test_x_ratelimit_reset_as_a_unix_time_becomes_seconds_from_now():
    quota = rate_limit_headers({"X-RateLimit-Remaining": "3", "X-RateLimit-Reset": str(int(WALL) + 12)}, WALL)
    assert quota.remaining == 3 and quota.reset_s == 12.0


def test_x_ratelimit_reset_as_delta_seconds_is_kept():
    assert rate_limit_headers({"X-RateLimit-Reset": "12"}, WALL).reset_s == 12.0


def test_no_quota_headers_read_as_none():
    assert rate_limit_headers({"Content-Type": "application/json"}, WALL) is None


def test_unreadable_quota_headers_are_ignored():
    assert rate_limit_headers({"RateLimit-Remaining": "lots"}, WALL) is None

