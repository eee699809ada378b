"""From a fetched page to the text a reviewer compares: extraction, the named noise filters and
the comparison key. The HTML fragments quoted from real pages are short excerpts of snapshots in
the corpus (tests/catalog/corpus/manifest.json names each file); each filter is also run on its
whole snapshot when the corpus directory is present."""

import json

import pytest

from catalog.refresh.normalize import (
    ExtractionError,
    broken_render,
    comparison_key,
    normalize_html,
    normalize_json,
)
from tests.catalog import corpus

PAGE = b"""<!doctype html>
<html><head><title>Acme privacy</title><style>p { color: red }</style></head>
<body>
  <nav><a href="/">Home</a> <a href="/pricing">Pricing</a></nav>
  <header><p>Last updated: March 3, 2026</p></header>
  <div id="cookie-banner"><p>We use cookies.</p></div>
  <main>
    <h1>API   data
        policy</h1>
    <p>We do <strong>not</strong> train on API data.<br>Prompts are deleted after 30 days.</p>
    <p>Read the <a href="https://acme.example/dpa?utm_source=mail&amp;gclid=x#terms"
      >data processing addendum</a> and the
      <a href="https://acme.example/terms;jsessionid=ABC123?v=2">terms</a>.
    </p>
    <table><tr><th>Data</th><th>Retention</th></tr><tr><td>Prompts</td><td>30 days</td></tr></table>
    <script>var canary = "SCRIPT-CANARY";</script>
    <noscript>NOSCRIPT-CANARY</noscript>
    <p hidden>HIDDEN-CANARY</p>
    <template><p>TEMPLATE-CANARY</p></template>
  </main>
  <footer><p>March 3, 2026</p><p>&copy; Acme AI</p></footer>
</body></html>
"""


def test_the_selected_text_is_one_paragraph_per_line_with_links_reduced_to_their_text():
    text = normalize_html(PAGE, select="main")

    assert text.splitlines() == [
        "API data policy",
        "We do not train on API data.",
        "Prompts are deleted after 30 days.",
        "Read the data processing addendum and the terms.",
        "Data | Retention",
        "Prompts | 30 days",
    ]


def test_without_a_selector_the_main_content_is_kept_and_the_site_around_it_left_out():
    text = normalize_html(PAGE)

    assert "We do not train on API data." in text
    assert "Prompts are deleted after 30 days." in text
    for chrome in ("Home", "Pricing", "Last updated", "© Acme AI", "CANARY"):
        assert chrome not in text


def test_a_link_whose_address_changes_is_the_same_text():
    before = b'<main><p>See <a href="/x?openaicom-did=cc5c015f">our terms</a>.</p></main>'
    after = b'<main><p>See <a href="/x/?openaicom-did=e9ba419f">our terms</a>.</p></main>'

    assert normalize_html(before, select="main") == normalize_html(after, select="main")


def test_the_same_words_in_other_markup_have_the_same_comparison_key():
    tidy = "We keep nothing.\nEver."
    messy = "We  keep\nnothing. Ever."

    assert comparison_key(tidy) == comparison_key(messy)


def test_a_date_written_another_way_has_the_same_comparison_key():
    # anthropic/privacy/033: "Effective January 12, 2026" became "Effective 12 January 2026".
    assert comparison_key("Since January 12, 2026 we keep chats") == comparison_key(
        "since 12 January 2026 we keep chats"
    )
    assert comparison_key("kept 30 days") != comparison_key("kept 90 days")


def test_a_latin1_page_is_read_in_its_declared_charset():
    html = '<html><head><meta charset="iso-8859-1"></head><body><main><p>Données supprimées</p>'
    html = (html + "</main></body></html>").encode("latin-1")

    assert normalize_html(html, select="main") == "Données supprimées"


def test_a_utf8_page_without_a_charset_declaration_is_read_as_utf8():
    # Open Terms Archive's snapshots (e.g. perplexity/privacy-policy/058) declare no charset.
    html = "<main><p>We collect “Service Interaction Information”.</p></main>".encode()

    assert normalize_html(html, select="main") == "We collect “Service Interaction Information”."


def test_a_select_matching_nothing_raises():
    with pytest.raises(ExtractionError, match="matched nothing"):
        normalize_html(PAGE, select="#policy-text")


def test_a_page_without_visible_text_raises():
    with pytest.raises(ExtractionError, match="no visible text"):
        normalize_html(b"<html><body><script>render()</script></body></html>")


def test_an_empty_document_raises():
    with pytest.raises(ExtractionError):
        normalize_html(b"")


SELECTOR_PAGE = b"""
<div id="main" class="policy  wide"><p class="note">A</p><section><p>B</p></section></div>
<p class="note">C</p>
<div data-part="x"><p>D</p></div>
"""


@pytest.mark.parametrize(
    ("selector", "lines"),
    [
        ("p", ["A", "B", "C", "D"]),
        ("#main", ["A", "B"]),
        (".note", ["A", "C"]),
        ("DIV.policy.wide", ["A", "B"]),
        ("#main > p", ["A"]),
        ("[data-part]", ["D"]),
        ('[data-part="x"]', ["D"]),
        ("#main > p, [data-part=x] p", ["A", "D"]),
        ("div, #main p", ["A", "B", "D"]),
    ],
)
def test_css_selectors_select_what_css_would(selector, lines):
    assert normalize_html(SELECTOR_PAGE, select=selector).splitlines() == lines


def test_remove_drops_every_match_of_every_selector():
    assert normalize_html(SELECTOR_PAGE, select="body", remove=[".note", "section"]) == "D"


@pytest.mark.parametrize("selector", ["> p", "p >", "p,", "div[", "#"])
def test_invalid_selectors_are_rejected_with_a_message(selector):
    with pytest.raises(ExtractionError, match="invalid CSS selector"):
        normalize_html(SELECTOR_PAGE, select=selector)


# --- the named noise filters, each on what a real page did ----------------------------------

# (the corpus file the fragment is quoted from, the fragment, what the text keeps)
FILTER_CASES = {
    "date stamps": (
        "anthropic/privacy/033.html.gz",
        '<main><h1>Privacy Policy</h1><span class="effective-date">Effective 12 January 2026'
        '</span><a href="/legal/archive/7251e1b0">Previous Version</a>'
        "<p>We collect identifiers.</p></main>",
        ["Privacy Policy", "We collect identifiers."],
    ),
    "publication notices": (
        "anthropic/privacy/437.html.gz",
        "<main><p><em>This policy was published on June 8, 2026 with an effective date of "
        "July 8, 2026.</em></p><p>We collect identifiers.</p></main>",
        ["We collect identifiers."],
    ),
    "last update lines": (
        "deepseek/privacy-policy/002.html.gz",
        '<main><blockquote><p style="text-align: left">Last Update: Feb 10, 2026</p>'
        "</blockquote><p>We collect your text input.</p></main>",
        ["We collect your text input."],
    ),
    "relative dates": (
        "anthropic/law-enforcement-requests/142.html.gz",
        '<main><div class="avatar"><span> <!-- -->Updated in the last hour</span></div>'
        "<p>You may request records from Anthropic.</p></main>",
        ["You may request records from Anthropic."],
    ),
    "navigation labels": (
        "openai/eu-privacy-policy/094.html.gz",
        '<main><p class="text-meta mb-3">Table of contents</p>'
        "<p>We collect Personal Data.</p></main>",
        ["We collect Personal Data."],
    ),
    "change notices": (
        "perplexity/privacy-policy/109.html.gz",
        '<main><h1>Perplexity Privacy Notice</h1><blockquote><p><strong class="framer-text">'
        "Privacy Notice Updated</strong></p><p>We added more detail about cookies, first-party "
        "advertising measurement, and your privacy choices.</p></blockquote>"
        "<p>We collect data about you in different ways.</p></main>",
        ["Perplexity Privacy Notice", "We collect data about you in different ways."],
    ),
    "change notice banners": (
        "perplexity/privacy-policy/109.html.gz",
        "<main><p>We recently updated our consumer Privacy Notice.</p><p>We added more detail "
        "about cookies, first-party advertising measurement, and your privacy choices.</p>"
        "<h2>Data We Collect</h2></main>",
        ["Data We Collect"],
    ),
    "page controls": (
        "xai/privacy-policy/147.html.gz",
        '<main><p>We collect information.</p><button type="button" class="text-left">'
        'Privacy choices</button><div role="menu"><span>Copy dark SVG</span></div></main>',
        ["We collect information."],
    ),
    "link menus": (
        "perplexity/privacy-policy/118.html.gz",
        '<main><ul><li><a href="/hub/legal">Legal overview</a></li><li><a href="/hub/legal/'
        'terms">Platform User Terms</a></li><li><a href="/hub/legal/privacy-policy">Privacy &amp;'
        " Data Protection</a></li></ul><p>We collect data.</p></main>",
        ["We collect data."],
    ),
    "cloudflare e-mail hashes": (
        "anthropic/law-enforcement-requests/142.html.gz",
        "<main><p>You may request records from Anthropic by emailing "
        '<a href="/cdn-cgi/l/email-protection#bbd7dacc96ded5dd"><span class="__cf_email__" '
        'data-cfemail="6e020f19430b0008011c0d0b030b001a431c0b1f1b0b1d1a1d2e0f001a061c011e070d400d0103">'
        "[email&#160;protected]</span></a>.</p></main>",
        [
            "You may request records from Anthropic by emailing "
            "law-enforcement-requests@anthropic.com."
        ],
    ),
}


@pytest.mark.parametrize("name", FILTER_CASES)
def test_each_noise_filter_drops_what_a_real_page_changed_without_changing_the_policy(name):
    _, fragment, kept = FILTER_CASES[name]

    assert normalize_html(fragment.encode(), select="main").splitlines() == kept


def test_a_dated_sentence_of_the_policy_is_kept():
    html = b"<main><p>Since March 3, 2026 we delete prompts after 30 days.</p></main>"

    assert normalize_html(html, select="main") == (
        "Since March 3, 2026 we delete prompts after 30 days."
    )


def test_a_list_of_policy_statements_with_links_is_not_a_menu():
    html = (
        b'<main><ul><li>We share data with <a href="/sub">subprocessors</a>.</li>'
        b'<li>We keep logs for <a href="/ret">30 days</a>.</li><li>We never sell data.</li>'
        b"</ul></main>"
    )

    assert len(normalize_html(html, select="main").splitlines()) == 3


@pytest.mark.skipif(bool(corpus.problems()), reason="the corpus snapshots are not present")
@pytest.mark.parametrize("name", FILTER_CASES)
def test_the_quoted_fragment_is_on_its_corpus_snapshot(name):
    file, _, _ = FILTER_CASES[name]
    body = corpus.snapshot_bytes(file).decode()

    assert normalize_html(body.encode())  # the whole snapshot extracts
    kept_or_dropped = {
        "date stamps": "Effective 12 January 2026",
        "publication notices": "This policy was published on June 8, 2026",
        "last update lines": "Last Update: Feb 10, 2026",
        "relative dates": "Updated in the last hour",
        "navigation labels": ">Table of contents<",
        "change notices": "Privacy Notice Updated",
        "change notice banners": "We recently updated our consumer Privacy Notice.",
        "page controls": "Privacy choices</button>",
        "link menus": "Platform User Terms",
        "cloudflare e-mail hashes": "/cdn-cgi/l/email-protection#",
    }[name]
    assert kept_or_dropped in body


# --- broken renders ----------------------------------------------------------------------------


def test_an_error_page_in_place_of_the_policy_is_a_broken_render():
    # anthropic/privacy/059: the whole page was this one line.
    text = (
        "Application error: a client-side exception has occurred while loading "
        "www.anthropic.com (see the browser console for more information)."
    )

    assert "error" in broken_render(text, previous="We collect data. " * 100)


def test_a_page_that_lost_most_of_its_text_is_a_broken_render():
    assert "truncated" in broken_render("Privacy Policy", previous="We collect data. " * 100)


def test_a_shorter_policy_is_not_a_broken_render():
    previous = "We collect data. " * 200
    assert broken_render("We collect data. " * 120, previous=previous) is None


# --- JSON sources --------------------------------------------------------------------------

SOURCE = {
    "provider": "acme-ai",
    "policy": {
        "training": "no",
        "retention": "days",
        "retention_days": 30,
        "safety_retention": "flagged_only",
        "publishes_prompts": "no",
        "certifications": ["soc2", "iso27001", "soc2"],
        "regions": ["us", "eu"],
    },
    "evidence": {"training": "We never train on API data.", "retention": "Kept 30 days."},
}


def _source(**changes) -> bytes:
    document = json.loads(json.dumps(SOURCE))
    for path, value in changes.items():
        *parents, name = path.split("__")
        target = document
        for parent in parents:
            target = target[parent]
        target[name] = value
    return json.dumps(document).encode()


def test_a_json_source_is_returned_canonically():
    assert normalize_json(_source()) == {
        "evidence": {"retention": "Kept 30 days.", "training": "We never train on API data."},
        "policy": {
            "certifications": ["iso27001", "soc2"],
            "publishes_prompts": "no",
            "regions": ["eu", "us"],
            "retention": "days",
            "retention_days": 30,
            "safety_retention": "flagged_only",
            "training": "no",
        },
        "provider": "acme-ai",
    }


def test_fields_a_source_leaves_out_stay_out():
    data = json.dumps({"provider": "acme-ai", "policy": {"training": "unknown"}}).encode()

    assert normalize_json(data) == {
        "evidence": {},
        "policy": {"training": "unknown"},
        "provider": "acme-ai",
    }


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"policy__training": "maybe"}, "policy.training"),
        ({"policy__retention": "forever"}, "policy.retention"),
        ({"policy__retention_days": 0}, "policy.retention_days"),
        ({"policy__retention_days": "30"}, "policy.retention_days"),
        ({"policy__retention_days": True}, "policy.retention_days"),
        ({"policy__safety_retention": "sometimes"}, "policy.safety_retention"),
        ({"policy__publishes_prompts": False}, "policy.publishes_prompts"),
        ({"policy__certifications": ["SOC 2"]}, "policy.certifications.0"),
        ({"policy__regions": "us"}, "policy.regions"),
        ({"policy__headquarters": "US"}, "policy.headquarters"),
        ({"policy__retention": "zero"}, "policy"),
        ({"notes": "hi"}, "notes"),
        ({"evidence__color": "blue"}, "evidence.color"),
        ({"evidence__training": "  "}, "evidence.training"),
        ({"evidence": ["training"]}, "evidence"),
        ({"provider": "Acme AI"}, "provider"),
        ({"policy": "no training"}, "policy"),
    ],
)
def test_an_invalid_source_is_rejected_naming_the_field(changes, field):
    with pytest.raises(ExtractionError) as error:
        normalize_json(_source(**changes))

    assert str(error.value).startswith(f"{field}: ")


@pytest.mark.parametrize("missing", ["provider", "policy"])
def test_a_source_without_provider_or_policy_is_rejected(missing):
    document = {key: value for key, value in SOURCE.items() if key != missing}

    with pytest.raises(ExtractionError, match=f"{missing}: missing"):
        normalize_json(json.dumps(document).encode())


@pytest.mark.parametrize("data", [b"", b"{", b"[1, 2]", b"\xff\xfe"])
def test_malformed_or_non_object_json_is_rejected(data):
    with pytest.raises(ExtractionError):
        normalize_json(data)


def test_json_nested_deeper_than_the_limit_is_refused_before_parsing():
    data = b'{"provider": "acme-ai", "policy": {"training": "no"}, "x": ' + b"[" * 100_000

    with pytest.raises(ExtractionError, match="nested deeper"):
        normalize_json(data)


def test_brackets_inside_json_strings_do_not_count_as_nesting():
    document = {"provider": "acme-ai", "policy": {"training": "no"}}
    document["evidence"] = {"training": "[[[[" * 50 + ' \\" {{{{' * 50}

    assert normalize_json(json.dumps(document).encode())["provider"] == "acme-ai"
