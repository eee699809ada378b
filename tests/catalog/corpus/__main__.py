"""python -m tests.catalog.corpus verify | rebuild --git <repository>=<git dir> ..."""

import argparse
import sys
from pathlib import Path

from tests.catalog import corpus


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.catalog.corpus")
    parser.add_argument("command", choices=["verify", "rebuild"])
    default = f"$POLICY_CORPUS_DIR or {corpus.DEFAULT_DIR}"
    parser.add_argument("--dir", type=Path, help=f"the corpus directory (default {default})")
    parser.add_argument(
        "--git",
        action="append",
        default=[],
        metavar="OWNER/NAME=GIT_DIR",
        help="a clone of a repository the manifest cites (rebuild)",
    )
    args = parser.parse_args()
    directory = args.dir or corpus.corpus_dir()
    if args.command == "rebuild":
        git_dirs = dict(pair.split("=", 1) for pair in args.git)
        print(f"wrote {corpus.rebuild({k: Path(v) for k, v in git_dirs.items()}, directory)}")
    found = corpus.problems(directory)
    for problem in found:
        print(problem)
    total = sum(len(s["snapshots"]) for s in corpus.manifest()["sources"])
    print(f"{directory}: {total - len(found)} of {total} snapshots match the manifest")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
