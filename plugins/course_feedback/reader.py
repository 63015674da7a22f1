"""MS Forms exports responses only as an xlsx workbook ("Open results in Excel"): one sheet, one row
per response, read with python-calamine."""

from plugins.readers import xlsx_reader

read_export = xlsx_reader(sheet=0)
