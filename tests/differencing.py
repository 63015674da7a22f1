"""The differencing attack on a share pack: the referee of disclosure control, written from the published rules
(docs/disclosure.md), never from the suppression code.

A partner knows each published count c stands for a true count in [c-2, c+2] (rounded to 5, half up), that a
zero below trust level is exact, and that a parent is the sum of its parts (or at least their sum, when the
parts leave an unpublished remainder). The attacker here is told more than a partner is: which blanks are
primary (1-7 below trust level) and which are secondary (so 8 or more below trust level, any count trust-wide),
and which groups are exhaustive. Intervals are propagated over every group until nothing moves; a blank whose
interval holds one value is recovered, one holding two or fewer is narrowed.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

INF = math.inf

Key = tuple[str, str, str, str]  # metric, measure, series, month


@dataclass
class Cell:
    published: float | None
    exact: float
    sub_trust: bool
    low: float = 0
    high: float = INF


@dataclass
class Attack:
    cells: dict[Key, Cell]
    groups: list[tuple[Key, list[Key], bool]] = field(default_factory=list)  # parent, parts, exhaustive

    def blanks(self) -> list[Key]:
        return [k for k, c in self.cells.items() if c.published is None]

    def recovered(self) -> list[Key]:
        return [k for k in self.blanks() if self.cells[k].low == self.cells[k].high]

    def narrowed(self, at_most: int = 2) -> list[Key]:
        return [k for k in self.blanks() if self.cells[k].high - self.cells[k].low + 1 <= at_most]

    def primary_narrowed_within_1_to_7(self) -> list[Key]:
        """Primary blanks whose interval lost any of the seven values 1-7 (informational)."""
        return [k for k in self.blanks() if 1 <= self.cells[k].exact <= 7 and self.cells[k].sub_trust
                and (self.cells[k].low > 1 or self.cells[k].high < 7)]


def prior(cell: Cell) -> tuple[float, float]:
    if cell.published is not None:
        if cell.sub_trust and cell.published == 0:
            return 0, 0
        return max(cell.published - 2, 0), cell.published + 2
    if cell.sub_trust and 1 <= cell.exact <= 7:
        return 1, 7
    return (8, INF) if cell.sub_trust else (0, INF)


def propagate(attack: Attack, max_rounds: int = 1000) -> int:
    """Tighten every cell's interval over every group until a fixed point; returns the rounds taken."""
    for cell in attack.cells.values():
        prior_low, prior_high = prior(cell)
        cell.low, cell.high = max(cell.low, prior_low), min(cell.high, prior_high)
    for rounds in range(1, max_rounds + 1):
        moved = False
        for parent_key, part_keys, exhaustive in attack.groups:
            parent, parts = attack.cells[parent_key], [attack.cells[k] for k in part_keys]
            parts_low, parts_high = sum(p.low for p in parts), sum(p.high for p in parts)
            new_low = max(parent.low, parts_low)
            new_high = min(parent.high, parts_high) if exhaustive else parent.high
            moved |= (new_low, new_high) != (parent.low, parent.high)
            parent.low, parent.high = new_low, new_high
            for part in parts:
                others_low, others_high = parts_low - part.low, parts_high - part.high
                new_high = min(part.high, parent.high - others_low)
                new_low = max(part.low, parent.low - others_high) if exhaustive else part.low
                moved |= (new_low, new_high) != (part.low, part.high)
                part.low, part.high = new_low, new_high
                if part.low > part.high:
                    raise AssertionError(f"the published counts contradict the rules at {part_keys[parts.index(part)]}")
        if not moved:
            return rounds
    raise AssertionError("the interval propagation did not reach a fixed point")


def share_attack(rows: list[dict], part_of: dict[str, str]) -> Attack:
    """The attack on share_metric_monthly rows, each joined to its exact internal counts (`exact_numerator`,
    `exact_denominator`): the groups come from the published hierarchy (every breakdown under the trust-wide
    series, a series under its parent_series_key, a metric's cells under the metric it is part of, a rate's
    numerator under its denominator); a published rate or count value beside a blank count gives it back."""
    cells: dict[Key, Cell] = {}
    for row in rows:
        month = str(row["period_month"])
        for measure in ("numerator", "denominator"):
            exact = row[f"exact_{measure}"]
            if exact is None or (isinstance(exact, float) and math.isnan(exact)):
                continue
            published = _number(row[measure])
            if published is None and row["value"] is not None:
                published = _from_value(row, measure)
            # the pack says which rows are below trust level (their zeros are exact, their 1-7 blank)
            sub_trust = bool(row["is_sub_trust"]) if "is_sub_trust" in row else row["breakdown"] != "trust"
            cells[(row["metric_id"], measure, row["series_key"], month)] = Cell(published, exact, sub_trust)
    attack = Attack(cells)
    members: dict[tuple[Key, str], list[Key]] = defaultdict(list)
    for metric, measure, series, month in cells:
        row_breakdown = series.split(":", 1)[0]
        if series != "trust":
            members[((metric, measure, "trust", month), f"breakdown:{row_breakdown}")].append(
                (metric, measure, series, month))
        if metric in part_of:
            members[((part_of[metric], measure, series, month), f"part:{metric}")].append(
                (metric, measure, series, month))
        if measure == "numerator":
            members[((metric, "denominator", series, month), "numerator")].append((metric, measure, series, month))
    for row in rows:
        if row.get("parent_series_key"):
            for measure in ("numerator", "denominator"):
                key = (row["metric_id"], measure, row["series_key"], str(row["period_month"]))
                if key in cells:
                    parent = (key[0], measure, row["parent_series_key"], key[3])
                    members[(parent, f"nested:{row['breakdown']}")].append(key)
    for (parent, label), parts in members.items():
        if parent not in cells:
            continue
        exhaustive = label != "numerator" and not label.startswith("part:") and \
            sum(cells[p].exact for p in parts) == cells[parent].exact
        attack.groups.append((parent, parts, exhaustive))
    return attack


def _number(value: object) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def _from_value(row: dict, measure: str) -> float | None:
    """A blank count given back by the value published beside it: a count's value is its numerator; a rate's
    is 100 x rounded numerator / rounded denominator, so either part follows from the value and the other."""
    value = _number(row["value"])
    if value is None:
        return None
    if row["kind"] == "count" and measure == "numerator":
        return value
    if row["kind"] == "rate":
        numerator, denominator = _number(row["numerator"]), _number(row["denominator"])
        if measure == "numerator" and denominator is not None:
            return round(value * denominator / 100)
        if measure == "denominator" and numerator is not None and value > 0:
            return round(100 * numerator / value)
    return None
