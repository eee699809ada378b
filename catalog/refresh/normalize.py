"""Turning a fetched policy page into the text a privacy team reads and compares.

Plain Python, no Django. `normalize_html` gives one paragraph, heading, list item or table row
per line, links reduced to their text (so URL churn is never a change), with page chrome left
out: the `select`ed elements when the source names them, otherwise the main content as
trafilatura finds it. Named noise filters (`ELEMENT_FILTERS`, `LINE_FILTERS`) then drop what
real pages showed to change without changing the policy: page controls, link menus, change
notices, Cloudflare's e-mail hashes, date stamps, relative dates, navigation labels.
`comparison_key` is what two texts must share to be the same policy text; `broken_render`
tells an error page from a change; `normalize_json` validates a machine-readable source.
"""

import json
import re
import unicodedata
from collections.abc import Callable, Iterable
from functools import lru_cache

import lxml.etree
import lxml.html
import trafilatura
from cssselect import HTMLTranslator, SelectorError
from pydantic import TypeAdapter, ValidationError

from catalog.catalog_file import PolicyIn, Slug
from catalog.policy.vocabulary import POLICY_FIELDS

# Raised whenever extraction changes what it keeps: texts kept from older rules are then
# extracted again from their snapshots before anything is compared with them.
EXTRACTOR_VERSION = 2


class ExtractionError(ValueError):
    """The fetched document cannot be turned into policy text or a policy."""


# --- HTML ------------------------------------------------------------------------------------

_INVISIBLE = (
    "//head | //script | //style | //noscript | //template | //svg | //iframe | //nav"
    " | //*[@role='navigation'] | //*[@hidden] | //*[@aria-hidden='true']"
    " | //*[contains(translate(@style, ' ', ''), 'display:none')]"
)
_BLOCK_TAGS = frozenset(
    {
        *("address", "article", "aside", "blockquote", "body", "caption", "dd", "details"),
        *("dialog", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form"),
        *("h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "ol", "p", "pre"),
        *("section", "summary", "table", "tbody", "tfoot", "thead", "tr", "ul"),
    }
)
_CELL_TAGS = frozenset({"td", "th"})
_CHROME_TAGS = frozenset({"header", "footer", "aside"})
_CHROME_ROLES = frozenset({"banner", "contentinfo", "complementary"})
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")


def normalize_html(html: bytes, *, select: str | None = None, remove: Iterable[str] = ()) -> str:
    document = _parse_html(html)
    _drop(document.xpath(_INVISIBLE))
    for element_filter in ELEMENT_FILTERS:
        element_filter(document)
    for selector in remove:
        _drop(document.xpath(_css_to_xpath(selector)))
    lines = _selected_lines(document, select) if select else _main_content_lines(document)
    lines = _filtered(lines)
    if not lines:
        raise ExtractionError("the page has no visible text")
    return "\n".join(lines)


def _parse_html(html: bytes):
    """Parse as UTF-8 when the bytes are valid UTF-8; otherwise let libxml2 read the page's own
    charset declaration. A parser per call: lxml parsers must not be shared between threads."""
    try:
        html.decode("utf-8")
        encoding = "utf-8"
    except UnicodeDecodeError:
        encoding = None
    parser = lxml.html.HTMLParser(encoding=encoding, remove_comments=True, remove_pis=True)
    try:
        return lxml.html.document_fromstring(html, parser=parser)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise ExtractionError(f"not parseable as HTML: {exc}") from None


def _drop(elements) -> None:
    for element in elements:
        if element.getparent() is not None:
            element.drop_tree()


# --- element filters: markup that is on the page but never policy text -----------------------

_CONTROLS = (
    "//button | //select | //input | //textarea | //label | //*[@role='button']"
    " | //*[@role='menu'] | //*[@role='dialog'] | //*[@role='alertdialog'] | //dialog"
)


def drop_page_controls(document) -> None:
    """Buttons, menus, dialogs and form fields (language pickers, 'Copy SVG' menus, cookie
    dialogs) come and go with the site's front end."""
    _drop(document.xpath(_CONTROLS))


_CALLOUTS = "//blockquote | //aside | //*[@role='note'] | //*[@role='status'] | //*[@role='alert']"


def drop_change_notices(document) -> None:
    """A callout announcing that the policy was updated ("Privacy Notice Updated — we added
    more detail about cookies…") summarises a change; it is not the policy."""
    for callout in document.xpath(_CALLOUTS):
        first = _collapse(callout.text_content())[:160]
        if _CHANGE_NOTICE.match(first):
            _drop([callout])


def decode_cloudflare_emails(document) -> None:
    """Cloudflare hides e-mail addresses behind /cdn-cgi/l/email-protection#<hash>, with a new
    hash on every page view; the address itself is what the policy says."""
    for element in document.xpath("//*[@data-cfemail]"):
        address = _cloudflare_address(element.get("data-cfemail", ""))
        if address:
            element.text, element[:] = address, []


def _cloudflare_address(encoded: str) -> str | None:
    try:
        data = bytes.fromhex(encoded)
    except ValueError:
        return None
    if len(data) < 2:
        return None
    return bytes(byte ^ data[0] for byte in data[1:]).decode("utf-8", "replace")


def drop_link_menus(document) -> None:
    """A list whose every item is one link and nothing else is a menu of the site (a legal
    hub's sidebar, a table of contents), not a statement of the policy."""
    for menu in document.xpath("//ul | //ol"):
        items = [child for child in menu if child.tag == "li"]
        if len(items) >= 3 and len(items) == len(menu) and all(map(_is_only_a_link, items)):
            _drop([menu])


def _is_only_a_link(item) -> bool:
    links = item.xpath(".//a[@href]")
    return len(links) == 1 and _collapse(item.text_content()) == _collapse(links[0].text_content())


ELEMENT_FILTERS: tuple[Callable, ...] = (
    drop_page_controls,
    drop_link_menus,
    drop_change_notices,
    decode_cloudflare_emails,
)


# --- text: the selected elements, or the page's main content ----------------------------------


def _selected_lines(document, select: str) -> list[tuple[str, bool]]:
    matches = document.xpath(_css_to_xpath(select))
    if not matches:
        raise ExtractionError(f"select {select!r} matched nothing")
    chosen = set(matches)
    writer = _TextWriter()
    for root in (m for m in matches if not any(a in chosen for a in m.iterancestors())):
        writer.write(root, in_chrome=any(map(_is_chrome, root.iterancestors())))
    return writer.lines


def _main_content_lines(document) -> list[tuple[str, bool]]:
    """Without a selector, trafilatura tells the policy from the site around it (menus,
    footers, banners, teasers): it keeps headings, paragraphs, lists and tables."""
    markdown = trafilatura.extract(
        document,
        output_format="markdown",
        include_links=False,
        include_images=False,
        include_comments=False,
        include_tables=True,
        favor_recall=True,
        deduplicate=False,
        with_metadata=False,
    )
    if not markdown:
        body = document.find("body")
        return _TextWriter().written(document if body is None else body)
    return [(line, False) for line in map(_unmarked, markdown.splitlines()) if line]


_MARKDOWN_PREFIX = re.compile(r"^\s*(?:#{1,6}\s+|[-*+]\s+|\d+[.)]\s+(?=\S)|>\s*)+")
_MARKDOWN_RULE = re.compile(r"^\s*\|?\s*:?-{3,}.*$|^\s*[-*_]{3,}\s*$")
_MARKDOWN_EMPHASIS = re.compile(r"(\*\*|__|\*|_)(?=\S)(.+?)(?<=\S)\1")


def _unmarked(line: str) -> str:
    """One markdown line as plain text: a list item and a paragraph of the same words are the
    same policy text, and a table row reads as its cells joined by ' | '."""
    if _MARKDOWN_RULE.match(line):
        return ""
    if line.strip().startswith("|"):
        cells = (cell.strip() for cell in line.strip().strip("|").split("|"))
        line = " | ".join(cell for cell in cells if cell)
    line = _MARKDOWN_EMPHASIS.sub(r"\2", _MARKDOWN_PREFIX.sub("", line))
    return _collapse(line.replace("\\", ""))


def _is_chrome(element) -> bool:
    return element.tag in _CHROME_TAGS or element.get("role") in _CHROME_ROLES


class _TextWriter:
    """Collects (line, in_chrome) pairs: a line per block element, cells joined by ' | ',
    links by their text only."""

    def __init__(self):
        self.lines: list[tuple[str, bool]] = []
        self._parts: list[str] = []

    def written(self, root) -> list[tuple[str, bool]]:
        self.write(root, in_chrome=False)
        return self.lines

    def write(self, root, in_chrome: bool) -> None:
        self._element(root, in_chrome)
        self._flush(in_chrome)

    def _element(self, element, parent_in_chrome: bool) -> None:
        if not isinstance(element.tag, str):  # a comment or processing instruction left over
            return
        in_chrome = parent_in_chrome or _is_chrome(element)
        if element.tag in _BLOCK_TAGS or element.tag == "br":
            self._flush(parent_in_chrome)
        if element.tag in _CELL_TAGS and "".join(self._parts).strip():
            self._parts.append(" | ")
        self._parts.append(element.text or "")
        for child in element:
            self._element(child, in_chrome)
            self._parts.append(child.tail or "")
        if element.tag in _BLOCK_TAGS:
            self._flush(in_chrome)

    def _flush(self, in_chrome: bool) -> None:
        line = _collapse("".join(self._parts))
        self._parts = []
        if line:
            self.lines.append((line, in_chrome))


def _collapse(text: str) -> str:
    return " ".join(_ZERO_WIDTH.sub("", unicodedata.normalize("NFC", text)).split())


# --- line filters: text that changes while the policy does not -------------------------------

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
_TIME = r"(?:,?\s*(?:at\s+)?\d{1,2}:\d{2}(?::\d{2})?\s*(?:[ap]\.?m\.?)?\s*(?:[a-z]{2,4}|z)?)?"
_DATE = (
    rf"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?"
    rf"(?:{_MONTH}\s+{_DAY},?\s+\d{{4}}|{_DAY}\s+{_MONTH},?\s+\d{{4}}|{_MONTH},?\s+\d{{4}}"
    rf"|\d{{4}}-\d{{2}}-\d{{2}}(?:t\d{{2}}:\d{{2}}(?::\d{{2}})?z?)?|\d{{1,2}}[-/.]\d{{1,2}}[-/.]\d{{2,4}})"
    rf"{_TIME}"
)
_STAMP_LABEL = (
    r"(?:last\s+)?(?:updated|update|modified|revised|reviewed)|effective(?:\s+date)?"
    r"|date|published|posted|version\s+date"
)
_PREVIOUS = r"(?:\s*\(?\s*(?:see\s+)?(?:the\s+)?previous\s+versions?\s*\)?)?"
_STAMP_LINE = re.compile(
    rf"(?:{_STAMP_LABEL})(?:\s+(?:on|as\s+of))?\s*:?\s*{_DATE}\.?{_PREVIOUS}", re.IGNORECASE
)
_PUBLICATION_NOTICE = re.compile(
    rf"this (?:policy|notice|statement|version|privacy policy) (?:was|is|has been) "
    rf"(?:published|posted|updated) (?:on )?{_DATE}(?:,? (?:with|and) (?:an? )?effective "
    rf"(?:date )?(?:of |on |from )?{_DATE})?\.?",
    re.IGNORECASE,
)
_DATE_ONLY = re.compile(rf"{_DATE}\.?", re.IGNORECASE)


def drop_date_stamps(lines: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """'Last updated: March 3, 2026', 'Effective 12 January 2026 Previous Version', 'This policy
    was published on June 8, 2026 with an effective date of July 8, 2026': the date of a text
    is not the text. A bare date is dropped only in page chrome (header, footer)."""
    return [
        (line, chrome)
        for line, chrome in lines
        if not (
            _STAMP_LINE.fullmatch(line)
            or _PUBLICATION_NOTICE.fullmatch(line)
            or (chrome and _DATE_ONLY.fullmatch(line))
        )
    ]


_RELATIVE_DATE = re.compile(
    r"(?:last\s+)?updated\s+(?:today|yesterday|this\s+(?:week|month|year)|last\s+\w+"
    r"|in\s+the\s+last\s+\w+|(?:over\s+|about\s+)?(?:an?|\d+)\s+\w+\s+ago)\.?",
    re.IGNORECASE,
)


def drop_relative_dates(lines):
    """'Updated today' becomes 'Updated yesterday' without anyone touching the page."""
    return [(line, chrome) for line, chrome in lines if not _RELATIVE_DATE.fullmatch(line)]


_NAVIGATION_LABEL = re.compile(
    r"table of contents|contents|on this page|in this (?:article|section|policy)"
    r"|skip to (?:main )?content(?:\s*skip to footer)?|skip to footer|back to top"
    r"|expand all(?: collapse all)?|collapse all|print(?: this page)?|jump to(?: section)?",
    re.IGNORECASE,
)


def drop_navigation_labels(lines):
    """'Table of contents', 'On this page': labels of the page's own navigation."""
    return [(line, chrome) for line, chrome in lines if not _NAVIGATION_LABEL.fullmatch(line)]


_CHANGE_NOTICE = re.compile(
    r"(?:(?:consumer |our )?(?:privacy )?(?:notice|policy|statement|terms) (?:has been |was )?"
    r"(?:updated|changed|revised)\b)"
    r"|(?:we(?:'ve|’ve| have)? (?:recently |just )?(?:updated|refreshed|changed|revised) "
    r"(?:our|this|the) )",
    re.IGNORECASE,
)
_NOTICE_SUMMARY = re.compile(
    r"we (?:added|also|clarified|updated|made|changed|expanded|simplified)\b", re.IGNORECASE
)


def drop_change_notice_lines(lines):
    """A banner line announcing an update ("We recently updated our consumer Privacy Notice."),
    with the summary right after it ("We added more detail about cookies…")."""
    kept, after_notice = [], False
    for line, chrome in lines:
        notice = bool(_CHANGE_NOTICE.match(line)) and len(line) < 120
        if not (notice or (after_notice and _NOTICE_SUMMARY.match(line))):
            kept.append((line, chrome))
        after_notice = notice
    return kept


LINE_FILTERS: tuple[Callable, ...] = (
    drop_date_stamps,
    drop_relative_dates,
    drop_navigation_labels,
    drop_change_notice_lines,
)


def _filtered(lines: list[tuple[str, bool]]) -> list[str]:
    for line_filter in LINE_FILTERS:
        lines = line_filter(lines)
    return [line for line, _ in lines]


# --- broken renders ---------------------------------------------------------------------------

_ERROR_MARKERS = re.compile(
    r"application error: a client-side exception has occurred|please enable javascript"
    r"|you need to enable javascript|checking your browser before accessing|just a moment\.\.\."
    r"|attention required! \| cloudflare|access denied|403 forbidden|502 bad gateway"
    r"|503 service (?:temporarily )?unavailable|504 gateway time-?out|internal server error"
    r"|this page (?:could not|couldn't) be (?:found|loaded)|something went wrong",
    re.IGNORECASE,
)
MIN_KEPT_SHARE = 0.2
_MIN_WORDS_FOR_SHARE = 150


def broken_render(text: str, previous: str | None) -> str | None:
    """Why the page looks broken rather than changed: an error page rendered in its place
    ("Application error: a client-side exception has occurred"), or most of its text gone."""
    words = len(text.split())
    if words < 80 and (marker := _ERROR_MARKERS.search(text)):
        return f"the page rendered as an error ({marker.group(0)!r})"
    before = len(previous.split()) if previous else 0
    if before >= _MIN_WORDS_FOR_SHARE and words < MIN_KEPT_SHARE * before:
        return f"truncated render: {words} words where there were {before}"
    return None


# --- comparing texts ---------------------------------------------------------------------------

_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "‑": "-"})
_DAY_MONTH_YEAR = re.compile(rf"\b({_DAY})\s+({_MONTH}),?\s+(\d{{4}})\b", re.IGNORECASE)
_MONTH_DAY_YEAR = re.compile(rf"\b({_MONTH})\s+({_DAY}),?\s+(\d{{4}})\b", re.IGNORECASE)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def comparison_key(text: str) -> str:
    """What two texts must share to be the same policy text: the same words in the same order,
    whatever their line breaks, letter case, quote marks or date format."""
    text = _MONTH_DAY_YEAR.sub(lambda m: _iso(m.group(3), m.group(1), m.group(2)), text)
    text = _DAY_MONTH_YEAR.sub(lambda m: _iso(m.group(3), m.group(2), m.group(1)), text)
    return " ".join(text.translate(_QUOTES).casefold().split())


def _iso(year: str, month: str, day: str) -> str:
    number = _MONTHS.index(month[:3].lower()) + 1
    return f"{year}-{number:02d}-{int(re.sub(r'\D', '', day)):02d}"


# --- CSS selectors, through cssselect ---------------------------------------------------------


@lru_cache(maxsize=256)
def _css_to_xpath(selectors: str) -> str:
    try:
        return HTMLTranslator().css_to_xpath(selectors)
    except SelectorError as exc:
        raise ExtractionError(f"invalid CSS selector {selectors!r}: {exc}") from None


def check_selector(selector: str) -> None:
    _css_to_xpath(selector)


# --- JSON sources ----------------------------------------------------------------------------

_SOURCE_KEYS = ("evidence", "policy", "provider")
_SLUG = TypeAdapter(Slug)
MAX_JSON_DEPTH = 32


def normalize_json(data: bytes) -> dict:
    """A machine-readable source, `{"provider", "policy", "evidence"}`, validated as strictly as
    the catalog file and returned canonically: keys and set-like lists sorted. A policy field the
    source leaves out is left out (the source says nothing about it), never filled in."""
    document = _decode_json(data)
    _refuse_unknown_keys(document, _SOURCE_KEYS, "")
    for required in ("provider", "policy"):
        if required not in document:
            raise ExtractionError(f"{required}: missing")
    return {
        "evidence": _source_evidence(document.get("evidence", {})),
        "policy": _source_policy(document["policy"]),
        "provider": _source_provider(document["provider"]),
    }


def _decode_json(data: bytes) -> dict:
    _refuse_deep_nesting(data)
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExtractionError(f"malformed JSON: {exc}") from None
    if not isinstance(document, dict):
        raise ExtractionError("the document must be a JSON object")
    return document


def _refuse_deep_nesting(data: bytes) -> None:
    """json.loads recurses once per nesting level: a few kilobytes of '[' would exhaust the
    stack and end the whole run. Brackets are counted outside strings before parsing."""
    depth, in_string, escaped = 0, False, False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == _BACKSLASH:
                escaped = True
            elif byte == _QUOTE:
                in_string = False
        elif byte == _QUOTE:
            in_string = True
        elif byte in _OPENING:
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise ExtractionError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        elif byte in _CLOSING:
            depth -= 1


_QUOTE, _BACKSLASH, _OPENING, _CLOSING = ord('"'), ord("\\"), b"[{", b"]}"


def _refuse_unknown_keys(mapping: dict, known: Iterable[str], prefix: str) -> None:
    for key in mapping:
        if key not in known:
            raise ExtractionError(f"{prefix}{key}: unknown field")


def _source_provider(value) -> str:
    try:
        return _SLUG.validate_python(value, strict=True)
    except ValidationError as exc:
        raise ExtractionError(f"provider: {exc.errors()[0]['msg']}") from None


def _source_policy(value) -> dict:
    if not isinstance(value, dict):
        raise ExtractionError("policy: must be an object")
    _refuse_unknown_keys(value, POLICY_FIELDS, "policy.")
    try:
        given = PolicyIn.model_validate(value).fields()
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join(["policy", *(str(part) for part in first["loc"])])
        raise ExtractionError(f"{path}: {first['msg']}") from None
    return dict(sorted(given.items()))


def _source_evidence(value) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ExtractionError("evidence: must be an object")
    _refuse_unknown_keys(value, POLICY_FIELDS, "evidence.")
    for name, passage in value.items():
        if not isinstance(passage, str) or not passage.strip():
            raise ExtractionError(f"evidence.{name}: must be a non-empty quoted passage")
    return dict(sorted(value.items()))
