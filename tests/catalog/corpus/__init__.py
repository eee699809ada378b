"""The real-history corpus: consecutive snapshots of AI providers' policy pages, as Open Terms
Archive recorded them, and our label for every step between two of them.

What is ours lives here: `manifest.json` (each snapshot's repository, commit, path, SHA-256 and
capture date, and Open Terms Archive's selectors for the page, with the declaration commit they
come from) and `labels.json` (material, editorial or noise for every step, with the reason we
wrote after reading its diff). The snapshots themselves are not ours and are not committed: they
are gzipped under `$POLICY_CORPUS_DIR` (default /work/corpus/policy-history), and

    python -m tests.catalog.corpus verify
    python -m tests.catalog.corpus rebuild --git OpenTermsArchive/genai-eu-snapshots=<git dir> ...

check that directory against the manifest, or rebuild it from clones of the cited repositories.
"""

import gzip
import hashlib
import json
import os
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

HERE = Path(__file__).parent
MANIFEST = HERE / "manifest.json"
LABELS = HERE / "labels.json"
DEFAULT_DIR = "/work/corpus/policy-history"
REAL_CHANGE = frozenset({"material", "editorial"})


def corpus_dir() -> Path:
    return Path(os.environ.get("POLICY_CORPUS_DIR", DEFAULT_DIR))


@cache
def manifest() -> dict:
    return json.loads(MANIFEST.read_text())


@cache
def labels() -> dict[tuple[str, str], dict]:
    """(source id, the step's later snapshot file) -> its label row."""
    return {(row["source"], row["after"]): row for row in json.loads(LABELS.read_text())}


@dataclass(frozen=True)
class Step:
    source: str
    before: str
    after: str
    label: str
    reason: str

    @property
    def is_real(self) -> bool:
        return self.label in REAL_CHANGE


def steps(source: dict) -> list[Step]:
    files = [snapshot["file"] for snapshot in source["snapshots"]]
    rows = [labels()[(source["id"], after)] for after in files[1:]]
    return [
        Step(source["id"], before, row["after"], row["label"], row["reason"])
        for before, row in zip(files[:-1], rows, strict=True)
    ]


def all_steps() -> list[Step]:
    return [step for source in manifest()["sources"] for step in steps(source)]


def snapshot_bytes(file: str, directory: Path | None = None) -> bytes:
    return gzip.decompress((directory or corpus_dir()).joinpath(file).read_bytes())


def problems(directory: Path | None = None) -> list[str]:
    """Every snapshot that is missing or whose bytes are not the ones the manifest cites."""
    directory = directory or corpus_dir()
    found = []
    for source in manifest()["sources"]:
        for snapshot in source["snapshots"]:
            path = directory / snapshot["file"]
            if not path.exists():
                found.append(f"missing: {snapshot['file']}")
            elif _sha256(gzip.decompress(path.read_bytes())) != snapshot["sha256"]:
                found.append(f"sha256 differs: {snapshot['file']}")
    return found


def rebuild(git_dirs: dict[str, Path], directory: Path | None = None) -> int:
    """Write every snapshot from `git show <commit>:<path>` in the cited repositories."""
    directory = directory or corpus_dir()
    written = 0
    for source in manifest()["sources"]:
        repository, path = source["ota"]["repository"], source["ota"]["path"]
        for snapshot in source["snapshots"]:
            raw = _git_show(git_dirs[repository], snapshot["commit"], path)
            if _sha256(raw) != snapshot["sha256"]:
                raise ValueError(f"{repository}@{snapshot['commit']}:{path} is not the cited body")
            target = directory / snapshot["file"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))
            written += 1
    return written


def _git_show(git_dir: Path, commit: str, path: str) -> bytes:
    command = ["git", f"--git-dir={git_dir}", "show", f"{commit}:{path}"]
    return subprocess.run(command, capture_output=True, check=True).stdout


def _sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()
