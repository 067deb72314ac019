"""Rounding as papers report numbers: half away from zero, on the shortest decimal form of a float.

One rule shared by the claims check, the survey's published rounding and the synthetic study's
calibration, so that they cannot disagree about a half.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def round_half_away(value: float, decimals: int) -> Decimal:
    """Round as papers do: half away from zero, on the shortest decimal form of the float."""
    return Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
