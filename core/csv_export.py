"""Streamed CSV downloads: rows are written as the database yields them, never all in memory."""

import csv

from django.http import StreamingHttpResponse


class _Echo:
    """A file-like object whose write returns the line, so csv.writer can feed a generator."""

    def write(self, value):
        return value


def _lines(columns, rows):
    writer = csv.writer(_Echo())
    yield writer.writerow(columns)
    for row in rows:
        yield writer.writerow(row)


def streamed_csv(filename: str, columns: list[str], rows) -> StreamingHttpResponse:
    response = StreamingHttpResponse(_lines(columns, rows), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
