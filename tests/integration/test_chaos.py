"""The fake API's chaos mode: the faults it promises, the same ones for the same seed."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fake_contactship import (
    DROP,
    Chaos,
    FakeContactship,
    Seen,
    chaos,
)


def answers(
    seed: int, rate: float, changes: float, requests: int
) -> list[tuple[Any, ...]]:
    """What a fresh chaotic API answers to the same paged reads, in order."""
    api = FakeContactship(phone_numbers=300)
    api.seed(calls=300)
    settings_ = Chaos(rate=rate, seed=seed, changes=changes)
    api.hooks.append(chaos(settings_))
    out: list[tuple[Any, ...]] = []
    for n in range(requests):
        path = "/v1/calls" if n % 2 else "/v1/phone-numbers"
        params = {"limit": "11", "offset": str(10 * (n % 7)), "order": "asc"}
        seen = Seen("GET", path, params, had_valid_key=True, user_agent="t")
        response = api.answer(seen)
        kind = "reset" if response is DROP else response.status
        out.append((kind, len(response.body), response.trickle > 0))
    out.append((len(api.calls), len(api.phone_numbers), tuple(sorted(settings_.made))))
    return out


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32), rate=st.floats(0, 1), changes=st.floats(0, 1))
def test_the_same_seed_gives_the_same_faults_and_changes(seed, rate, changes):
    assert answers(seed, rate, changes, 40) == answers(seed, rate, changes, 40)


def test_every_fault_comes_at_about_the_rate_asked():
    seen = answers(seed=7, rate=0.3, changes=0.0, requests=2000)[:-1]
    kinds = Counter(status for status, _, trickled in seen if not trickled)
    kinds["trickle"] = sum(trickled for *_, trickled in seen)
    kinds["cut"] = cut_bodies(seen)
    kinds[200] -= kinds["cut"]

    assert {500, 429, "reset", "trickle", "cut"} <= set(kinds), kinds
    assert 0.25 < (len(seen) - kinds[200]) / len(seen) < 0.35, kinds


def cut_bodies(seen: list[tuple[Any, ...]]) -> int:
    """200 answers shorter than the longest answer to that page (it repeats every 14)."""
    longest: dict[int, int] = {}
    for n, (status, size, _) in enumerate(seen):
        if status == 200:
            longest[n % 14] = max(longest.get(n % 14, 0), size)
    return sum(
        1
        for n, (status, size, trickled) in enumerate(seen)
        if status == 200 and not trickled and size < longest[n % 14]
    )


def test_changes_create_change_add_and_release():
    api = FakeContactship(phone_numbers=50)
    api.seed(calls=50)
    made = Chaos(rate=0, seed=3, changes=1.0)
    api.hooks.append(chaos(made))
    for n in range(200):
        api.answer(Seen("GET", "/v1/calls", {"offset": str(n)}, True, "t"))

    assert set(made.made) == {"created", "changed", "added", "released"}
    assert len(api.calls) == 50 + made.made["created"]
    assert len(api.phone_numbers) == 50 + made.made["added"] - made.made["released"]
    assert any(
        row["call_status"] == "completed" and row["duration"] % 60 for row in api.calls
    )
