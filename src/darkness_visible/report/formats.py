"""How the scorecard writes a number: one format for the paper's column, the run's and the intervals
(thousands separated, a true minus sign, powers of ten only for the very small or very large).

Used by :mod:`darkness_visible.report.scorecard` and by :func:`darkness_visible.report.tolerances.describe_tolerance`.
"""

from __future__ import annotations

import math

import pandas as pd

SIGNIFICANT = 4
#: Below this magnitude (and from 10^15 up) a number is written as ``a×10ⁿ``; everything between is plain.
SMALL = 1e-4
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
MINUS = "\u2212"


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or (not isinstance(x, str) and pd.isna(x))


def _scientific(v: float, digits: int) -> str:
    mantissa, _, exponent = f"{v:.{max(digits - 1, 0)}e}".partition("e")
    mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
    return f"{mantissa}×10{str(int(exponent)).translate(_SUPERSCRIPT)}".replace("-", MINUS)


def format_value(value, unit: str = "", places: int | None = None, digits: int = SIGNIFICANT) -> str:
    """One number of the scorecard as text, the same way everywhere (the paper's column, this run's, the CI).

    ``places`` fixes the decimals (a row passes :func:`row_decimals` of its paper number, so the paper's and the
    run's columns agree); without it the number gets ``digits`` significant figures, and a whole number none.
    Thousands are separated (``34,155``), negatives get a minus sign (``−0.020``), and only magnitudes below
    10⁻⁴ (or from 10¹⁵) are written ``8.94×10⁻⁸``; a number that its row's decimals would round to zero falls
    back to significant figures. ``unit`` ``"%"``, ``"pp"`` or any other is written after a space
    (``11.55 %``). Missing values are ``""``.
    """
    if _missing(value):
        return ""
    v = float(value)
    if not math.isfinite(v):
        text = "∞" if v > 0 else (f"{MINUS}∞" if v < 0 else "NaN")
    elif v != 0 and (abs(v) < SMALL or abs(v) >= 1e15):
        text = _scientific(v, digits if places is None else min(digits, 3))
    else:
        if places is not None and v != 0 and abs(v) < 0.5 * 10.0 ** -places:
            places = None  # the row's decimals would print 0: keep the digits that matter
        if places is None:
            places = 0 if v.is_integer() else max(0, digits - 1 - math.floor(math.log10(abs(v))))
        text = f"{v:,.{places}f}".replace("-", MINUS)
    return f"{text} {unit}" if unit else text
