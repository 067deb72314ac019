"""Rounding as papers report numbers (integrating.rounding)."""

from __future__ import annotations

import pytest

from integrating import rounding


@pytest.mark.parametrize("value, decimals, expected", [
    (0.075, 2, "0.08"), (-0.075, 2, "-0.08"), (0.0749999, 2, "0.07"), (0.025, 2, "0.03"), (0.015, 2, "0.02"),
    (0.0249999999, 2, "0.02"), (0.0250000001, 2, "0.03"), (-0.0849999, 2, "-0.08"), (0.5, 0, "1"), (-2.5, 0, "-3"),
])
def test_rounding_is_half_away_from_zero_on_the_decimal_value(value, decimals, expected):
    assert str(rounding.round_half_away(value, decimals)) == expected
