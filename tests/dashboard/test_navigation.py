from types import SimpleNamespace

import lxml.html
import pytest

from dashboard.templatetags.console import current


def _context(url_name):
    return {"request": SimpleNamespace(resolver_match=SimpleNamespace(url_name=url_name))}


@pytest.mark.parametrize(
    ("page", "entry"),
    [
        ("catalog_list", "catalog_list"),
        ("provider_detail", "catalog_list"),
        ("playground", "catalog_list"),
        ("change_detail", "review_queue"),
        ("flagged_routes", "review_queue"),
        ("activity", "activity"),
    ],
)
def test_a_page_marks_the_menu_entry_it_sits_under(page, entry):
    assert current(_context(page), entry) == 'aria-current="page"'


def test_a_page_whose_name_is_part_of_another_entry_marks_nothing():
    # A substring of "catalog_list provider_list …" is not one of those pages.
    assert current(_context("list"), "catalog_list") == ""
    assert current(_context("review"), "review_queue") == ""
    assert current({"request": None}, "catalog_list") == ""


@pytest.mark.django_db
def test_the_provider_page_marks_the_catalog_entry_current(client_for, personas, small_catalog):
    response = client_for(personas.member).get("/catalog/providers/month-ai/")

    nav = lxml.html.fromstring(response.content).xpath("//nav[@class='mainnav']/a")
    assert [a.text_content() for a in nav if a.get("aria-current")] == ["Catalog"]
