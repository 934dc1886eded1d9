"""Formatting of table numbers: round half up, then text. Numbers stay numbers until here.

Python's `round()` and `format(x, ".1f")` round half to even on the binary value, so 0.125
becomes 0.12 and 2.675 becomes 2.67. Regulatory tables round half up on the decimal value a
reader sees (pharmaverse `cards::round5`), so every function here goes through `Decimal`
built from the float's shortest repr ("2.675"), which is the decimal the value was meant to
be. A proportion n/N that sits exactly on a half has a short decimal expansion (its
denominator divides a power of ten), so its repr is exact and rounds the way a hand
calculation does.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from numbers import Real

MISSING = ""  # what a missing statistic shows as in a table cell
NOT_ESTIMABLE = "NE"


def _decimal(x: Real | Decimal | Fraction | str) -> Decimal | None:
    """The decimal value a number stands for, or None when it is missing (None, NaN)."""
    if x is None:
        return None
    if isinstance(x, Decimal):
        return None if x.is_nan() else x
    if isinstance(x, Fraction):
        return Decimal(x.numerator) / Decimal(x.denominator) if x.denominator != 1 else Decimal(x.numerator)
    if isinstance(x, str):
        return Decimal(x)
    if isinstance(x, bool):
        return Decimal(int(x))
    if isinstance(x, int):
        return Decimal(x)
    value = float(x)
    if math.isnan(value):
        return None
    if math.isinf(value):
        raise ValueError(f"cannot format an infinite value ({value})")
    return Decimal(repr(value))


def round_half_up(x, digits: int = 0) -> Decimal | None:
    """`x` rounded half away from zero to `digits` decimals (0.125 -> 0.13, 2.5 -> 3, -2.5 -> -3)."""
    value = _decimal(x)
    if value is None:
        return None
    result = value.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return result + 0  # turns -0.0 into 0.0: a table never shows "-0.0"


def fmt_num(x, digits: int = 0, *, missing: str = MISSING) -> str:
    """A number with exactly `digits` decimals, rounded half up."""
    value = round_half_up(x, digits)
    if value is None:
        return missing
    return f"{value:.{digits}f}"


def percent(n: int, N: int) -> Fraction | None:
    """n/N as an exact percentage (a Fraction), None when N is 0."""
    if N == 0:
        return None
    return Fraction(int(n) * 100, int(N))


def fmt_pct(p, digits: int = 1, *, missing: str = MISSING) -> str:
    """A proportion (0..1) shown as a percentage number without the sign: 0.125 -> "12.5"."""
    value = _decimal(p)
    if value is None:
        return missing
    return fmt_num(value * 100, digits, missing=missing)


def _pct_of(n: int, N: int, digits: int) -> str:
    return fmt_num(percent(n, N), digits)


def fmt_count(n) -> str:
    """A count with thousands separators: 1638 -> "1,638" (every count of a table or sentence)."""
    if n is None:
        return MISSING
    value = int(n)
    if value != n:
        raise ValueError(f"a count must be a whole number, got {n!r}")
    return f"{value:,}"


def fmt_n_pct(n: int, N: int, digits: int = 1, *, denominator: bool = False, zero: str | None = None) -> str:
    """`n (x.x%)`; with `denominator=True` `n/N (x.x%)`. `zero` replaces the text when n is 0 (e.g. "0").
    Counts carry thousands separators (`1,638 (12.3%)`)."""
    if n == 0 and zero is not None:
        return zero
    count = f"{fmt_count(n)}/{fmt_count(N)}" if denominator else fmt_count(n)
    if N == 0:
        return count
    return f"{count} ({_pct_of(n, N, digits)}%)"


def fmt_n_pct_events(n: int, N: int, events: int, digits: int = 1, *, denominator: bool = False,
                     zero: str | None = None) -> str:
    """`n (x.x%) [k]`: subjects, their percentage and the number of events."""
    if n == 0 and zero is not None:
        return zero
    return f"{fmt_n_pct(n, N, digits, denominator=denominator)} [{fmt_count(events)}]"


def fmt_mean_sd(mean, sd, digits: int = 1, sd_digits: int | None = None, *, missing: str = MISSING) -> str:
    """`mean (SD)`; SD gets one more decimal than the mean unless told otherwise."""
    if _decimal(mean) is None:
        return missing
    sd_text = fmt_num(sd, digits + 1 if sd_digits is None else sd_digits, missing="-")
    return f"{fmt_num(mean, digits)} ({sd_text})"


def fmt_median(median, digits: int = 1, *, missing: str = MISSING) -> str:
    return fmt_num(median, digits, missing=missing)


def fmt_range(low, high, digits: int = 0, *, sep: str = ", ", missing: str = MISSING) -> str:
    """`min, max` (or with another separator, e.g. " - ")."""
    if _decimal(low) is None or _decimal(high) is None:
        return missing
    return f"{fmt_num(low, digits)}{sep}{fmt_num(high, digits)}"


def fmt_median_range(median, low, high, digits: int = 1, *, sep: str = ", ", missing: str = MISSING) -> str:
    """`median (min, max)`."""
    if _decimal(median) is None:
        return missing
    return f"{fmt_num(median, digits)} ({fmt_range(low, high, digits, sep=sep)})"


def fmt_p(p, digits: int = 3, *, missing: str = MISSING) -> str:
    """A p-value: `<0.001` below the smallest shown value, otherwise rounded half up (`0.050`)."""
    value = _decimal(p)
    if value is None:
        return missing
    smallest = Decimal(1).scaleb(-digits)
    if value < smallest:
        return f"<{smallest:.{digits}f}"
    return fmt_num(value, digits)


def fmt_ci(low, high, digits: int = 1, *, brackets: str = "()", sep: str = ", ", missing: str = MISSING) -> str:
    """`(low, high)` rounded half up; missing when either end is."""
    if _decimal(low) is None or _decimal(high) is None:
        return missing
    return f"{brackets[0]}{fmt_num(low, digits)}{sep}{fmt_num(high, digits)}{brackets[1]}"


def fmt_ci_pct(low, high, digits: int = 1, **kwargs) -> str:
    """A confidence interval of a proportion shown in percent: (0.0866, 0.491) -> `(8.7, 49.1)`."""
    lo, hi = _decimal(low), _decimal(high)
    if lo is None or hi is None:
        return kwargs.get("missing", MISSING)
    return fmt_ci(lo * 100, hi * 100, digits, **kwargs)


def fmt_or_ci(odds_ratio, low, high, digits: int = 2, *, estimable: bool = True) -> str:
    """`OR (low-high)` for a logistic regression term, `NE` when it could not be estimated."""
    if not estimable or _decimal(odds_ratio) is None:
        return NOT_ESTIMABLE
    return f"{fmt_num(odds_ratio, digits)} {fmt_ci(low, high, digits)}"


# --------------------------------------------------------------------------- label-style sentences

def label_incidence(n: int, N: int, events: int | None = None, digits: int = 2, *,
                    subjects_unit: str = "명", events_unit: str = "건", extra: str | None = None) -> str:
    """The MFDS label pattern `12.34%(77/624명, 120건)`: percentage, subjects n/N and event count.

    Counts carry thousands separators (`1,638건`); `extra` is added inside the same brackets
    (`49.17%(265/539명, 95% 신뢰구간 44.87–53.47%)`), never as a second pair.
    """
    if N == 0:
        raise ValueError("an incidence needs a denominator above 0")
    inside = f"{fmt_count(n)}/{fmt_count(N)}{subjects_unit}"
    if events is not None:
        inside += f", {fmt_count(events)}{events_unit}"
    if extra:
        inside += f", {extra}"
    return f"{_pct_of(n, N, digits)}%({inside})"


def label_rate_ci(n: int, N: int, low, high, digits: int = 2, *, level: float = 0.95,
                  subjects_unit: str = "명") -> str:
    """A rate with its confidence interval in one bracket: `49.17%(265/539명, 95% 신뢰구간 44.87–53.47%)`."""
    ci = f"{fmt_num(level * 100, 0)}% 신뢰구간 {fmt_pct(low, digits)}–{fmt_pct(high, digits)}%"
    return label_incidence(n, N, None, digits, subjects_unit=subjects_unit, extra=ci)


def label_count(n: int, events: int | None = None, *, subjects_unit: str = "명", events_unit: str = "건") -> str:
    """`26명, 89건` (or `26명`): the count part of a label sentence without the percentage."""
    text = f"{fmt_count(n)}{subjects_unit}"
    if events is not None:
        text += f", {fmt_count(events)}{events_unit}"
    return text
