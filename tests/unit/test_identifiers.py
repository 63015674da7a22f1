"""NHS numbers (docs/identifiers.md: mod-11, 999 range never issued) and HMAC pseudonyms computed in SQL."""

import hashlib
import hmac
import random
import re

import duckdb
import pytest

from pipelines.typing_sql import (
    hmac_sha256_expression,
    identifier_text,
    nhs_integer_expression,
    nhs_valid_expression,
)
from plugins import nhs_number
from plugins.contract import Column

# Worked by hand from the rule: 943 476 591 9 — weights 10..2 give 299; 299 % 11 = 2; 11 - 2 = 9.
VALID = ["9434765919", "4010232137"]
INVALID = ["9434765918", "123456789", "12345678901", "abcdefghij", ""]


@pytest.mark.parametrize("number", VALID)
def test_valid_numbers_pass_the_check_digit(number):
    assert nhs_number.is_valid(number)


@pytest.mark.parametrize("number", INVALID)
def test_invalid_numbers_fail(number):
    assert not nhs_number.is_valid(number)


def test_remainder_ten_is_never_valid():
    # 000000005: 5 x 2 = 10; 10 % 11 = 10; 11 - 10 = 1 → valid check 1. 000000006: 12 % 11 = 1 → 10 → invalid.
    stem = "000000006"
    assert nhs_number.check_digit(stem) is None
    assert not any(nhs_number.is_valid(stem + str(d)) for d in range(10))


def test_synthetic_numbers_are_valid_and_never_issued():
    rng = random.Random(7)
    numbers = [nhs_number.synthetic(rng) for _ in range(500)]
    assert all(n.startswith("999") and nhs_number.is_valid(n) for n in numbers)


def test_sql_check_agrees_with_python():
    column = Column("nhs_number", "string", "", identifier="nhs_number")
    rng = random.Random(1)
    candidates = [f"{rng.randrange(10**10):010d}" for _ in range(2000)] + [
        "943 476 5919", "943-476-5919", "943\t476 591-9", "9 4 3 4 7 6 5 9 1 9", "0000000051", "+943476591",
        "94347659.9", "943476591Ù", None]
    with duckdb.connect() as con:
        con.execute("create table t (raw__nhs_number varchar)")
        con.executemany("insert into t values (?)", [(c,) for c in candidates])
        rows = con.execute(f"select raw__nhs_number, {nhs_valid_expression(column)} from "
                           f"(select *, {nhs_integer_expression(column)} as nhs_number__integer from t)").fetchall()
    for raw, valid in rows:
        expected = raw is not None and nhs_number.is_valid(re.sub(r"[\s-]", "", raw))
        assert valid == expected, raw


@pytest.mark.parametrize("key", [b"short key", b"k" * 64, b"a much longer key than the sha256 block size " * 3])
def test_sql_hmac_matches_python_hmac(key):
    values = ["9434765919", "9990000018", "x"]
    with duckdb.connect() as con:
        got = [con.execute(f"select {hmac_sha256_expression('?', key)}", [v]).fetchall()[0][0] for v in values]
    assert got == [hmac.new(key, v.encode(), hashlib.sha256).hexdigest() for v in values]


def test_nhs_key_hashes_the_ten_digits_leading_zeros_kept():
    # The key is the digits as a BIGINT; the pseudonym must still be the HMAC of the ten-digit text.
    column = Column("nhs_number", "string", "", identifier="nhs_number")
    key = b"k" * 32
    with duckdb.connect() as con:
        got = con.execute(f"select {hmac_sha256_expression(identifier_text(column, 'cast(? as bigint)'), key)}",
                          ["0000000051"]).fetchall()[0][0]
    assert got == hmac.new(key, b"0000000051", hashlib.sha256).hexdigest()


def test_a_staff_identifier_that_is_an_excel_error_is_invalid_never_pseudonymised_as_a_person():
    from pipelines.typing_sql import identifier_valid

    email = Column("email", "string", "", identifier="staff")
    with duckdb.connect() as con:
        rows = con.execute(f"select raw__email, {identifier_valid(email)} from (values ('a.b@nhs.net'), ('#N/A'), "
                           "('#REF!'), ('#hash'), (null)) as t(raw__email)").fetchall()
    assert rows == [("a.b@nhs.net", True), ("#N/A", False), ("#REF!", False), ("#hash", True), (None, False)]
