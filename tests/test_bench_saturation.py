"""`python -m bench saturation` judges its steps by its limits and stops where they fail."""

from __future__ import annotations

from typing import Any

from bench.saturation import Step, rates, saturated


def step(rate: float, *, api_ms: float, consume_ms: float, statuses: dict[int, int]) -> Step:
    result = Step(rate, statuses=statuses, took=1.0)
    result.latencies = [api_ms / 1000] * 100
    result.consume = [consume_ms / 1000] * 100
    return result


def test_a_step_passes_only_within_both_limits_with_every_order_accepted() -> None:
    def verdict(**kwargs: Any) -> tuple[bool, str]:
        return step(10, **kwargs).verdict(api_p99_ms=250, consume_p99_ms=1000)

    assert verdict(api_ms=100, consume_ms=500, statuses={201: 10}) == (True, "")
    assert verdict(api_ms=300, consume_ms=500, statuses={201: 10}) == (False, "API p99 300 ms")
    slow = verdict(api_ms=100, consume_ms=1500, statuses={201: 10})
    assert slow == (False, "commit→consume p99 1500 ms")
    refused = verdict(api_ms=100, consume_ms=500, statuses={201: 9, 0: 1})
    assert refused[0] is False and "answers" in refused[1]


def test_an_order_left_unconsumed_fails_its_step() -> None:
    late = step(10, api_ms=100, consume_ms=500, statuses={201: 10})
    late.unconsumed = 1
    assert late.verdict(api_p99_ms=250, consume_p99_ms=1000) == (
        False,
        "1 orders not consumed in time",
    )


def test_saturation_is_the_last_pass_before_two_failures_in_a_row() -> None:
    def summary(rate: float, passed: bool) -> dict[str, Any]:
        return {"offered_per_s": rate, "passed": passed}

    steps = [summary(10, True), summary(20, False), summary(30, True), summary(40, False)]
    steps += [summary(50, False), summary(60, True)]
    found = saturated(steps)
    assert found is not None and found["offered_per_s"] == 30  # one noisy failure is forgiven
    assert saturated([summary(10, False), summary(20, False)]) is None


def test_rates_rise_by_the_factor_up_to_the_ceiling() -> None:
    assert rates(20, 1.5, 100) == [20, 30, 45, 67.5]
