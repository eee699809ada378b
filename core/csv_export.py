"""CSV downloads: rows are written as the database yields them, never all in memory, and no cell
can be read as a formula by a spreadsheet."""

import csv

from django.http import StreamingHttpResponse

# OWASP, "CSV Injection": a cell starting with one of these is a formula to Excel, LibreOffice
# and Google Sheets. Such a text cell is prefixed with a single quote, which they show as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """`value` as a spreadsheet reads it literally; numbers are left alone (they are no formula,
    and -3 must stay a number)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeWriter:
    """csv.writer whose every text cell goes through `safe_cell`."""

    def __init__(self, stream):
        self._writer = csv.writer(stream)

    def writerow(self, row):
        return self._writer.writerow([safe_cell(value) for value in row])


class _Echo:
    """A file-like object whose write returns the line, so csv.writer can feed a generator."""

    def write(self, value):
        return value


def _lines(columns, rows):
    writer = SafeWriter(_Echo())
    yield writer.writerow(columns)
    for row in rows:
        yield writer.writerow(row)


def streamed_csv(filename: str, columns: list[str], rows) -> StreamingHttpResponse:
    response = StreamingHttpResponse(_lines(columns, rows), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
