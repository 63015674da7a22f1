"""NHS number rules (docs/identifiers.md): 10 digits, mod-11 check digit; 999 000 0000 – 999 999 9999 are
never issued, so synthetic data draws from that range."""

from __future__ import annotations

import random

WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)


def check_digit(first_nine: str) -> int | None:
    """The check digit for nine digits, or None when the remainder makes the number invalid (10)."""
    total = sum(int(d) * w for d, w in zip(first_nine, WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def is_valid(number: str) -> bool:
    digits = number.replace(" ", "")
    if len(digits) != 10 or not digits.isdigit():
        return False
    return check_digit(digits[:9]) == int(digits[9])


def synthetic(rng: random.Random) -> str:
    """A valid, never-issued NHS number (999 range) drawn from `rng`."""
    while True:
        first_nine = "999" + f"{rng.randrange(1_000_000):06d}"
        check = check_digit(first_nine)
        if check is not None:
            return first_nine + str(check)
