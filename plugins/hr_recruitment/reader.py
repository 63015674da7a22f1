"""Trac exports vacancies as UTF-8 CSV (with a byte-order mark from its Excel-friendly export)."""

from plugins.readers import csv_reader

read_extract = csv_reader(delimiter=",")
