"""The SVG chart geometry: round axis ticks that cover the data, and long series thinned but complete."""

from __future__ import annotations

import itertools
import math

from hypothesis import example, given
from hypothesis import strategies as st

from tournament.web.charts import MAX_POINTS, Series, line_chart, nice_ticks


@given(st.floats(-1e6, 1e6, allow_nan=False), st.floats(0, 1e6, allow_nan=False), st.integers(2, 8))
@example(low=-1e-05, span=10001.0, count=2)  # the first tick once landed above `low` (step 10,000)
@example(low=1.0, span=1e-06, count=2)  # steps below 1e-6
def test_ticks_cover_the_range_in_round_steps(low: float, span: float, count: int) -> None:
    ticks = nice_ticks(low, low + span, count)
    assert ticks[0] <= low + 1e-6
    assert ticks[-1] >= low + span - 1e-6
    steps = [b - a for a, b in itertools.pairwise(ticks)]
    assert all(math.isclose(step, steps[0], rel_tol=1e-6, abs_tol=1e-9) for step in steps)


def test_long_series_are_thinned_but_keep_both_ends() -> None:
    values = tuple(float(i % 7 - 3) for i in range(100_000))
    chart = line_chart([Series("a", values, "series-a")], x_label="round", y_label="payoff")
    points = chart.lines[0].points.split()
    assert len(points) <= MAX_POINTS + 1
    left, top, right, bottom = chart.plot
    assert float(points[0].split(",")[0]) == left
    assert float(points[-1].split(",")[0]) == right
    assert all(top <= float(p.split(",")[1]) <= bottom for p in points)
    assert chart.zero is not None
    assert chart.lines[0].dots == ()


def test_a_single_point_is_drawn_as_a_dot() -> None:
    chart = line_chart([Series("rating", (1.5,), "series-a")], x_label="t", y_label="r")
    assert len(chart.lines[0].dots) == 1
    assert [t.label for t in chart.x_ticks] == ["1"]
