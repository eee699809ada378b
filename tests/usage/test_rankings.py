"""Anonymous model rankings: k-anonymous, account-free, idempotent, and shown publicly."""

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard.models import Account
from usage import rankings
from usage.account_data import delete_usage
from usage.events import Event
from usage.ingest import ingest
from usage.models import ModelRanking, Status
from usage.tasks import compute_rankings

pytestmark = pytest.mark.django_db

K = 3
NOW = datetime.now(UTC).replace(minute=30, second=0, microsecond=0)
YESTERDAY = (NOW - timedelta(days=1)).replace(hour=12)


@pytest.fixture(autouse=True)
def _k(settings):
    settings.USAGE_RANKING_MIN_ACCOUNTS = K


def _accounts(n: int) -> list[Account]:
    return [Account.objects.create(slug=f"team-{i}", name=f"Team {i}") for i in range(n)]


def _event(account, when=YESTERDAY, model="acme/chat", provider="safe-ai", tokens=(100, 50)):
    return Event(
        timestamp=when,
        event_id=uuid.uuid4(),
        account=account.slug,
        api_key=None,
        model=model,
        provider=provider,
        tokens_prompt=tokens[0],
        tokens_completion=tokens[1],
        latency_ms=400,
        status=Status.OK,
        cost_nanos=1_000,
    )


def _used_by(accounts, model="acme/chat", when=YESTERDAY, **fields):
    ingest([_event(account, when, model, **fields) for account in accounts])


def _ranked() -> dict[str, tuple[int, int]]:
    rows = ModelRanking.objects.filter(day=YESTERDAY.date())
    return {r.model: (r.requests, r.tokens) for r in rows}


# --- Computing ---------------------------------------------------------------------------------


def test_a_model_used_by_fewer_than_k_accounts_is_not_ranked():
    _used_by(_accounts(K - 1))
    rankings.rank_day(YESTERDAY.date())
    assert _ranked() == {}


def test_a_model_used_by_k_accounts_is_ranked_with_its_totals():
    _used_by(_accounts(K), tokens=(100, 50))
    rankings.rank_day(YESTERDAY.date())
    assert _ranked() == {"acme/chat": (K, K * 150)}


def test_many_requests_from_fewer_than_k_accounts_are_still_not_ranked():
    accounts = _accounts(K - 1)
    for _ in range(10):
        _used_by(accounts)
    rankings.rank_day(YESTERDAY.date())
    assert _ranked() == {}


def test_only_the_models_that_reach_k_are_ranked_on_a_day():
    accounts = _accounts(K)
    _used_by(accounts, "acme/chat")
    _used_by(accounts[:-1], "acme/tiny", provider="free-ai")
    rankings.rank_day(YESTERDAY.date())
    assert set(_ranked()) == {"acme/chat"}


def test_one_model_through_several_providers_is_ranked_once_across_them():
    accounts = _accounts(K)
    _used_by(accounts[:2], provider="safe-ai")
    _used_by(accounts[2:], provider="month-ai")
    rankings.rank_day(YESTERDAY.date())
    assert _ranked() == {"acme/chat": (K, K * 150)}


def test_rankings_have_no_account_column():
    columns = {field.column for field in ModelRanking._meta.get_fields()}
    assert columns == {"id", "day", "model", "requests", "tokens"}
    with connection.cursor() as cursor:
        described = connection.introspection.get_table_description(
            cursor, ModelRanking._meta.db_table
        )
    assert {column.name for column in described} == columns


def test_ranking_a_day_twice_gives_the_same_rows():
    _used_by(_accounts(K))
    rankings.rank_day(YESTERDAY.date())
    first = list(ModelRanking.objects.values_list("pk", "day", "model", "requests", "tokens"))
    rankings.rank_day(YESTERDAY.date())
    assert list(ModelRanking.objects.values_list("pk", "day", "model", "requests", "tokens")) == (
        first
    )


def test_ranking_a_day_again_replaces_its_rows_with_the_current_totals():
    accounts = _accounts(K + 1)
    _used_by(accounts)
    rankings.rank_day(YESTERDAY.date())
    _used_by(accounts[:1])
    rankings.rank_day(YESTERDAY.date())
    assert _ranked() == {"acme/chat": (K + 2, (K + 2) * 150)}


def test_deleting_an_accounts_usage_leaves_the_rankings_unchanged():
    accounts = _accounts(K)
    _used_by(accounts)
    rankings.rank_pending_days(NOW)
    before = list(ModelRanking.objects.values_list("day", "model", "requests", "tokens"))

    delete_usage(accounts[0])
    rankings.rank_pending_days(NOW)

    assert before
    assert list(ModelRanking.objects.values_list("day", "model", "requests", "tokens")) == before


def test_pending_days_are_finished_days_with_usage_that_are_not_ranked_yet():
    accounts = _accounts(K)
    two_days_ago = YESTERDAY - timedelta(days=1)
    for when in (NOW - timedelta(minutes=5), YESTERDAY, two_days_ago):
        _used_by(accounts, when=when)
    ModelRanking.objects.create(day=two_days_ago.date(), model="acme/chat", requests=1, tokens=1)
    assert rankings.pending_days(NOW) == [YESTERDAY.date()]


def test_a_day_is_ranked_only_once_the_next_day_has_settled():
    _used_by(_accounts(K))
    midnight = datetime.combine(NOW.date(), datetime.min.time(), tzinfo=UTC)
    assert rankings.pending_days(midnight + timedelta(minutes=10)) == []
    assert rankings.pending_days(midnight + rankings.SETTLE) == [YESTERDAY.date()]


def test_days_older_than_the_raw_retention_window_are_not_looked_at(settings):
    _used_by(_accounts(K), when=NOW - timedelta(days=5))
    settings.USAGE_RAW_RETENTION_DAYS = 3
    assert rankings.pending_days(NOW) == []


def test_the_hourly_task_ranks_the_pending_days():
    _used_by(_accounts(K))
    compute_rankings.delay()
    assert _ranked() == {"acme/chat": (K, K * 150)}


# --- The board ---------------------------------------------------------------------------------

LAST = date(2026, 11, 28)


def _rank(day, model, tokens, requests=10):
    ModelRanking.objects.create(day=day, model=model, requests=requests, tokens=tokens)


def test_the_board_orders_models_by_tokens_with_their_share_of_the_week():
    for offset in range(7):
        _rank(LAST - timedelta(days=offset), "big/model", 300)
        _rank(LAST - timedelta(days=offset), "small/model", 100)
    _rank(LAST - timedelta(days=7), "big/model", 10_000)  # the week before: not counted

    board = rankings.board("week")

    assert (board.first, board.last) == (LAST - timedelta(days=6), LAST)
    assert [(m.model, m.tokens, m.requests) for m in board.models] == [
        ("big/model", 2_100, 70),
        ("small/model", 700, 70),
    ]
    assert [m.share for m in board.models] == [0.75, 0.25]


def test_the_board_compares_each_model_with_the_week_before():
    _rank(LAST, "up/model", 300)
    _rank(LAST - timedelta(days=7), "up/model", 200)
    _rank(LAST, "down/model", 100)
    _rank(LAST - timedelta(days=8), "down/model", 400)
    _rank(LAST, "new/model", 50)

    week = {m.model: m.change for m in rankings.board("week").models}
    day = {m.model: m.change for m in rankings.board("day").models}

    assert week == {"up/model": 0.5, "down/model": -0.75, "new/model": None}
    assert day == {"up/model": 0.5, "down/model": None, "new/model": None}


def test_the_board_of_a_day_counts_only_that_day():
    _rank(LAST, "a/model", 100)
    _rank(LAST - timedelta(days=1), "b/model", 900)
    board = rankings.board("day")
    assert [(m.model, m.share) for m in board.models] == [("a/model", 1.0)]


def test_the_board_is_empty_before_anything_is_ranked():
    assert rankings.board("week") is None


def test_the_board_shows_the_top_models_and_shares_of_all_of_them():
    for n in range(5):
        _rank(LAST, f"m/{n}", 100)
    board = rankings.board("week", limit=2)
    assert len(board.models) == 2 and board.total_tokens == 500
    assert board.models[0].share == 0.2


# --- The public page ---------------------------------------------------------------------------


def test_anyone_can_see_the_rankings_page(client):
    _rank(LAST, "acme/chat", 1_234_567)
    page = client.get("/rankings/").content.decode()
    assert "acme/chat" in page and "1,234,567" in page and "100.0 %" in page
    assert f"at least <strong>{K} different accounts</strong>" in page


def test_the_rankings_page_shows_one_day_on_request(client):
    _rank(LAST, "today/model", 10)
    _rank(LAST - timedelta(days=1), "earlier/model", 10)
    page = client.get("/rankings/?period=day").content.decode()
    assert "today/model" in page and "earlier/model" not in page


def test_the_rankings_page_says_when_nothing_is_ranked_yet(client):
    response = client.get("/rankings/?period=bogus")
    assert response.status_code == 200
    assert "No rankings yet" in response.content.decode()


def test_the_rankings_page_makes_a_fixed_number_of_queries(client, django_assert_num_queries):
    _rank(LAST, "a/model", 10)
    with django_assert_num_queries(2):  # the latest day, then both weeks in one
        client.get("/rankings/")
    for offset in range(14):
        for n in range(30):
            _rank(LAST - timedelta(days=offset + 1), f"m/{n}", 10)
    with CaptureQueriesContext(connection) as many:
        client.get("/rankings/")
    assert len(many) == 2
