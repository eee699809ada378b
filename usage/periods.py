"""The period an activity page shows: a named or custom range of UTC hours or days, its
grouping, and how it splits into whole days and the hours around them. Pure: no Django.

Periods up to HOURLY_LIMIT have hourly points and read the hourly rollups; longer ones have
daily points and read only the daily ones. All times are UTC: the daily rollups are UTC days.
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
HOURLY_LIMIT = timedelta(days=7)
RANGES = {
    "24h": ("Last 24 hours", timedelta(hours=24)),
    "7d": ("Last 7 days", timedelta(days=7)),
    "30d": ("Last 30 days", timedelta(days=30)),
    "90d": ("Last 90 days", timedelta(days=90)),
}
CUSTOM = "custom"
DEFAULT_RANGE = "7d"
MAX_CUSTOM_DAYS = 366
GROUPINGS = {"model": "model", "provider": "provider", "key": "API key"}
DEFAULT_GROUPING = "model"
Piece = tuple[bool, datetime, datetime]  # (whole UTC days?, from, to)


class InvalidRange(ValueError):
    pass


# Long before any usage was recorded, and late enough that the period before it exists.
EARLIEST_START = date(2000, 1, 1)


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC, aligned to hours (hourly periods) or days (daily ones)."""

    range: str
    start: datetime
    end: datetime
    grouping: str = DEFAULT_GROUPING
    notices: tuple[str, ...] = ()

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    @property
    def hourly(self) -> bool:
        return self.length <= HOURLY_LIMIT

    @property
    def step(self) -> timedelta:
        return HOUR if self.hourly else DAY

    def previous(self) -> "Period":
        """The period of equal length just before, for comparisons."""
        return replace(self, start=self.start - self.length, end=self.start, notices=())

    def points(self) -> list[datetime]:
        count = self.length // self.step
        return [self.start + n * self.step for n in range(count)]

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(microseconds=1)).date()

    @property
    def params(self) -> dict[str, str]:
        """The query string that shows this period again (normalized, so cards share it)."""
        params = {"range": self.range, "group": self.grouping}
        if self.range == CUSTOM:
            params |= {"start": self.start.date().isoformat(), "end": self.last_day.isoformat()}
        return params

    @property
    def label(self) -> str:
        return RANGES[self.range][0] if self.range in RANGES else self.dates

    @property
    def dates(self) -> str:
        """The period's bounds in words: its hours when it does not start at midnight."""
        if self.start.hour:
            return f"{_moment(self.start)} – {_moment(self.end)} UTC"
        first, last = self.start.date(), self.last_day
        if first == last:
            return _day(first)
        return f"{_day(first)} – {_day(last)}"


def _day(day: date) -> str:
    return f"{day:%b} {day.day}, {day.year}"


def _moment(moment: datetime) -> str:
    return f"{moment:%b} {moment.day} {moment:%H}:00"


def parse_period(params: Mapping[str, str], now: datetime) -> Period:
    """The period asked for by GET parameters; anything invalid falls back to the default
    with a notice that says what was ignored, so a bad link never fails the page."""
    notices = []
    grouping = params.get("group") or DEFAULT_GROUPING
    if grouping not in GROUPINGS:
        notices.append("Unknown grouping in the address: usage is broken down by model.")
        grouping = DEFAULT_GROUPING
    name = params.get("range") or DEFAULT_RANGE
    if name == CUSTOM:
        try:
            start, end = _custom_bounds(params.get("start"), params.get("end"), now)
        except InvalidRange as exc:
            notices.append(f"{exc} Showing the last 7 days instead.")
        else:
            return Period(CUSTOM, start, end, grouping, tuple(notices))
    elif name not in RANGES:
        notices.append("Unknown range in the address: showing the last 7 days.")
    if name not in RANGES:
        name = DEFAULT_RANGE
    start, end = _rolling_bounds(RANGES[name][1], now)
    return Period(name, start, end, grouping, tuple(notices))


def _rolling_bounds(length: timedelta, now: datetime) -> tuple[datetime, datetime]:
    # The current hour (or day) is included although it is still filling up.
    now = now.astimezone(UTC)
    if length <= HOURLY_LIMIT:
        end = now.replace(minute=0, second=0, microsecond=0) + HOUR
    else:
        end = datetime.combine(now.date(), time(), UTC) + DAY
    return end - length, end


def _custom_bounds(start: str | None, end: str | None, now: datetime):
    if not start or not end:
        raise InvalidRange("A custom range needs both a start and an end date.")
    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        raise InvalidRange("The custom dates must be dates like 2026-11-30.") from None
    today = now.astimezone(UTC).date()
    if first > last:
        raise InvalidRange("The custom range starts after it ends.")
    if first > today:
        raise InvalidRange("The custom range starts in the future.")
    if first < EARLIEST_START:  # and the period before it, for comparison, must exist too
        raise InvalidRange(f"The custom range's start must be {EARLIEST_START} or later.")
    last = min(last, today)
    if (last - first).days + 1 > MAX_CUSTOM_DAYS:
        raise InvalidRange(f"A custom range covers at most {MAX_CUSTOM_DAYS} days.")
    begins = datetime.combine(first, time(), UTC)
    ends = datetime.combine(last, time(), UTC) + DAY
    if ends - begins <= HOURLY_LIMIT:  # hourly points: stop at the current hour, not midnight
        ends = min(ends, now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + HOUR)
    return begins, ends


def pieces(start: datetime, end: datetime) -> list[Piece]:
    """[start, end) (whole hours) as (whole days?, from, to): the whole UTC days in it and the
    hours around them. Reading whole days from the daily rollups gives the same sums from a
    twenty-fourth of the rows."""
    first = datetime.combine(start.date(), time(), UTC)
    first += DAY if first < start else timedelta(0)
    last = datetime.combine(end.date(), time(), UTC)
    if first >= last:
        return [(False, start, end)]
    found = [(True, first, last)]
    if start < first:
        found.append((False, start, first))
    if last < end:
        found.append((False, last, end))
    return found


def compared_pieces(period: Period) -> list[Piece]:
    """The pieces of `period` and of the one before it; none straddles `period.start`."""
    before = period.previous()
    if not period.hourly:
        return [(True, before.start, period.end)]
    return [*pieces(before.start, period.start), *pieces(period.start, period.end)]


def point_of(value: date | datetime) -> datetime:
    """A rollup's time column value (an hour, or a day) as the datetime its point starts at."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.combine(value, time(), UTC)
