"""The ECDS attendance extract is a UTF-8 CSV with a header row; large (~20,000 rows a month), so it
is read by the core streaming DuckDB reader, never row by row in Python."""

from plugins.readers import csv_reader

read_extract = csv_reader(delimiter=",")
