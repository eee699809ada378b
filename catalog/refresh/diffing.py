"""Differences between two versions of a policy text, sentence by sentence within their
paragraphs, and what they touch.

Plain Python: no Django, no I/O. A text is one paragraph per line (see `normalize`); sentences
are compared by `normalize.comparison_key`, so a date written another way or a re-wrapped
paragraph is no difference.
"""

import difflib
import re
from dataclasses import dataclass

from catalog.refresh.normalize import comparison_key

CONTEXT_SENTENCES = 1

# Words that make a change *material*: it is about what data is collected, kept, used, shared,
# where and for how long, or who may train on it.
POLICY_TERMS = re.compile(
    r"\b(train\w*|fine-?tun\w*|models?|improv\w*|retain\w*|retention|kept|keep\w*|"
    r"delet\w*|eras\w*|stor\w*|sav(?:e|ed|es|ing)\b|log(?:s|ged|ging)?\b|collect\w*|gather\w*|"
    r"analy[sz]\w*|monitor\w*|human review\w*|reviewers?|"
    r"prompts?|inputs?|outputs?|content|conversations?|chats?|messages?|queries|query|files?|"
    r"uploads?\w*|screenshots?|recordings?|voice|audio|video\w*|images?|photos?|"
    r"personal (?:data|information)|biometric\w*|health|geolocation|"
    r"location\w*|identifiers?|cookies?|pixels?|tracking|profil\w*|"
    r"share[sd]?|sharing|sell\w*|sold|disclos\w*|transfer\w*|third[- ]part\w*|vendors?|"
    r"partners?|affiliates?|advertis\w*|ads?\b|marketing|service providers?|subprocessor\w*|"
    r"processors?|law enforcement|authorit\w*|government\w*|"
    r"regions?|countr\w*|jurisdiction\w*|located|outside|overseas|eea|european|"
    r"days?|weeks?|months?|years?|period\w*|indefinite\w*|zero|"
    r"opt[- ]?(?:in|out)\w*|consent\w*|by default|abuse|safety|flag\w*|"
    r"encrypt\w*|secur\w*|certif\w*|soc ?2|iso ?\d+|hipaa|gdpr|ccpa|dpa|pci|children|minors?)\b",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?;])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_ABBREVIATION = re.compile(
    r"(?:\b(?:e\.g|i\.e|etc|inc|ltd|llc|co|corp|no|vs|cf|art|sec|para|u\.s|u\.k|e\.u|st|mr|ms|"
    r"dr)\.|\b[A-Z]\.)$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Sentence:
    paragraph: int
    text: str

    @property
    def key(self) -> str:
        return comparison_key(self.text)


def sentences(text: str) -> list[Sentence]:
    found = []
    for number, paragraph in enumerate(line for line in text.splitlines() if line.strip()):
        found += [Sentence(number, part) for part in _split_sentences(paragraph)]
    return found


def _split_sentences(paragraph: str) -> list[str]:
    parts, start = [], 0
    for boundary in _SENTENCE_END.finditer(paragraph):
        candidate = paragraph[start : boundary.start()].strip()
        if candidate and not _ABBREVIATION.search(candidate):
            parts.append(candidate)
            start = boundary.end()
    parts.append(paragraph[start:].strip())
    return [part for part in parts if part]


def sentence_diff(before: str, after: str) -> list[list[str]]:
    """[op, before, after] runs of whole sentences (a paragraph break is a newline inside a
    run), with long unchanged stretches cut down to a sentence of context on each side."""
    old, new = sentences(before), sentences(after)
    matcher = difflib.SequenceMatcher(
        a=[s.key for s in old], b=[s.key for s in new], autojunk=False
    )
    runs = [
        [op, _joined(old[i1:i2]), _joined(new[j1:j2]), i2 - i1]
        for op, i1, i2, j1, j2 in matcher.get_opcodes()
    ]
    return [_trimmed(run, index, len(runs), old) for index, run in enumerate(runs)]


def _joined(run: list[Sentence]) -> str:
    text, previous = "", None
    for sentence in run:
        separator = "" if previous is None else (" " if sentence.paragraph == previous else "\n")
        text, previous = text + separator + sentence.text, sentence.paragraph
    return text


def _trimmed(run, index, count, old) -> list[str]:
    op, before, after, size = run
    if op != "equal" or size <= 2 * CONTEXT_SENTENCES:
        return [op, before, after]
    lines = before.split("\n")
    head = lines[-1:] if index > 0 else []
    tail = lines[:1] if index < count - 1 else []
    context = "\n".join([*tail, "…", *head]) if tail or head else "…"
    return ["equal", context, context]


def changed_sentences(diff: list[list[str]]) -> list[str]:
    return [text for op, before, after in diff if op != "equal" for text in (before, after) if text]


def is_material(diff: list[list[str]]) -> bool:
    return any(POLICY_TERMS.search(text) for text in changed_sentences(diff))


def summary(diff: list[list[str]], limit: int = 280) -> str:
    """What changed, in words: the first changed sentences, marked as added, removed or
    reworded."""
    parts = []
    for op, before, after in diff:
        if op == "insert":
            parts.append(f"Added: {_first_sentence(after)}")
        elif op == "delete":
            parts.append(f"Removed: {_first_sentence(before)}")
        elif op == "replace":
            parts.append(f"Reworded: {_first_sentence(after)}")
    text = " · ".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _first_sentence(text: str) -> str:
    first = sentences(text)
    return first[0].text if first else text


# --- evidence ---------------------------------------------------------------------------------

FOUND, CHANGED, MISSING = "found", "changed", "missing"


def squashed(text: str) -> str:
    return comparison_key(text).strip("\"' .")


def passage_found(passage: str, text: str) -> bool:
    """Whether an evidence passage still appears, ignoring case, spacing, quote marks and date
    format."""
    clean = squashed(passage)
    return bool(clean) and clean in comparison_key(text)


def evidence_status(passage: str, before: str, after: str) -> str:
    """Whether the sentences that carry `passage` in `before` are all still in `after`, word for
    word: a new qualifier ("By default, we do not train…") or negation in the sentence around
    a quoted passage changes what it means even though the passage itself is still there."""
    if not passage_found(passage, after):
        return MISSING
    clean = squashed(passage)
    carrying = {s.key for s in sentences(before) if clean in s.key or s.key in clean}
    still_there = {s.key for s in sentences(after)}
    return FOUND if carrying <= still_there else CHANGED
