"""Trac exports vacancies as UTF-8 CSV (with a byte-order mark from its Excel-friendly export); the
experience survey runs on MS Forms, whose only export is an xlsx workbook."""

from plugins.readers import csv_reader, xlsx_reader

read_extract = csv_reader(delimiter=",")
read_survey_export = xlsx_reader(sheet=0)
