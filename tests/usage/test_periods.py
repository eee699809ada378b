"""usage.periods is pure: periods and their pieces, with no database."""

from datetime import UTC, date, datetime, timedelta

from usage.periods import compared_pieces, parse_period, pieces, point_of

NOW = datetime(2026, 11, 30, 14, 20, tzinfo=UTC)
DAY = timedelta(days=1)


def at(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def test_a_span_of_hours_splits_into_its_whole_days_and_the_hours_around_them():
    assert pieces(at(20, 15), at(23, 9)) == [
        (True, at(21), at(23)),
        (False, at(20, 15), at(21)),
        (False, at(23), at(23, 9)),
    ]


def test_a_span_within_one_day_is_hours_only():
    assert pieces(at(20, 3), at(20, 9)) == [(False, at(20, 3), at(20, 9))]


def test_whole_days_alone_are_one_piece():
    assert pieces(at(20), at(23)) == [(True, at(20), at(23))]


def test_no_compared_piece_straddles_the_start_of_an_hourly_period():
    week = parse_period({"range": "7d"}, NOW)
    found = compared_pieces(week)
    assert all(end <= week.start or start >= week.start for _, start, end in found)
    assert min(start for _, start, _ in found) == week.previous().start
    assert max(end for _, _, end in found) == week.end


def test_a_daily_period_and_the_one_before_it_are_one_piece_of_whole_days():
    month = parse_period({"range": "30d"}, NOW)
    assert compared_pieces(month) == [(True, month.start - 30 * DAY, month.end)]


def test_a_rollup_day_stands_for_the_utc_midnight_its_point_starts_at():
    assert point_of(date(2026, 11, 30)) == at(30)
    assert point_of(at(30, 5)) == at(30, 5)
