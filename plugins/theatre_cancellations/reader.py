"""The theatre system exports its elective bookings report as UTF-8 CSV, comma-separated, one header row."""

from plugins.readers import csv_reader

read_extract = csv_reader(delimiter=",")
