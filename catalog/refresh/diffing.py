"""Word-level differences between two versions of a policy text, and what they touch.

Plain Python: no Django, no I/O.
"""

import difflib
import re

CONTEXT_WORDS = 12

# Words that make a change *material*: it may touch a policy field or its evidence.
POLICY_TERMS = re.compile(
    r"\b(train\w*|improv\w*|retain\w*|retention|delet\w*|stor\w*|log\w*|days?|months?|years?|"
    r"zero|abuse|safety|flag\w*|human review\w*|review\w*|publish\w*|share\w*|sell\w*|"
    r"third[- ]part\w*|soc ?2|iso ?\d+|hipaa|gdpr|dpa|pci|certif\w*|region\w*|"
    r"process\w*|transfer\w*|subprocessor\w*|encrypt\w*)\b",
    re.IGNORECASE,
)


def words(text: str) -> list[str]:
    return text.split()


def word_diff(before: str, after: str) -> list[list[str]]:
    """[op, before, after] runs, with long unchanged stretches cut down to some context."""
    old, new = words(before), words(after)
    runs = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        runs.append([op, " ".join(old[i1:i2]), " ".join(new[j1:j2])])
    return [_trim(run, index, len(runs)) for index, run in enumerate(runs)]


def _trim(run: list[str], index: int, count: int) -> list[str]:
    op, text, _ = run
    if op != "equal":
        return run
    tokens = text.split()
    if len(tokens) <= 2 * CONTEXT_WORDS:
        return run
    head = tokens[:CONTEXT_WORDS] if index > 0 else []
    tail = tokens[-CONTEXT_WORDS:] if index < count - 1 else []
    trimmed = " ".join([*head, "…", *tail])
    return ["equal", trimmed, trimmed]


NEIGHBOUR_WORDS = 2


def changed_text(diff: list[list[str]]) -> str:
    return " ".join(f"{before} {after}" for op, before, after in diff if op != "equal")


def changes_in_context(diff: list[list[str]]) -> list[str]:
    """Each change with the few words around it: "30" → "90" matters because "days" follows."""
    passages = []
    for index, (op, before, after) in enumerate(diff):
        if op == "equal":
            continue
        left = diff[index - 1][2].split()[-NEIGHBOUR_WORDS:] if index > 0 else []
        right = diff[index + 1][1].split()[:NEIGHBOUR_WORDS] if index + 1 < len(diff) else []
        passages.append(" ".join([*left, before, after, *right]))
    return passages


def is_material(diff: list[list[str]]) -> bool:
    return any(POLICY_TERMS.search(passage) for passage in changes_in_context(diff))


def squashed(text: str) -> str:
    return " ".join(text.lower().split())


def passage_found(passage: str, text: str) -> bool:
    """Whether an evidence passage still appears, ignoring case, spacing and quote marks."""
    clean = squashed(passage).strip("“”\"' .")
    return bool(clean) and clean in squashed(text)


def summary(diff: list[list[str]], limit: int = 200) -> str:
    changes = [f"−{b} +{a}".strip() for op, b, a in diff if op != "equal"]
    text = "; ".join(changes)
    return text if len(text) <= limit else text[: limit - 1] + "…"
