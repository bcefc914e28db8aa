"""Summarise the last `mutmut run`: the score per package, and every surviving mutant with its diff.

`make mutation` runs this after mutmut. mutmut's own summary is one number for the whole tree;
the team's targets are per package (issue 15), and a survivor is only actionable with the file,
the line and the change, so this reads mutmut's results (the meta files under mutants/) through
mutmut's own library and writes:

    artifacts/mutation/summary.txt           the table printed here
    artifacts/mutation/survivors/<pkg>.diff  each mutant the tests let through, with its diff

Only "killed" counts for the score: a timeout, a mutant no fast test reaches ("no tests"), a
suspicious result or a crash counts as a survivor, since none of them shows a test noticing.
"""

from __future__ import annotations

import ast
import os
import shutil
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from mutmut.mutation.data import SourceFileMutationData
from mutmut.mutation.diff_apply import get_diff_for_mutant
from mutmut.stats import status_by_exit_code
from mutmut.utils.file_utils import walk_mutatable_files
from mutmut.utils.format_utils import orig_function_and_class_names_from_key

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts" / "mutation"
SURVIVORS = ARTIFACTS / "survivors"

# A file belongs to the first package whose folder holds it, so the sub-packages come first
# and the modules directly in actions/ fall to "actions".
PACKAGES = (
    "actions/inquiry",
    "actions/dialogue",
    "actions/knowledge",
    "actions/language",
    "actions/privacy",
    "channels",
    "actions",
)
KILLED = frozenset({"killed", "caught by type check"})
NOT_CHECKED = "not checked"
COLUMNS = ("killed", "survived", "timeout", "no tests")  # every other outcome is shown as "other"


@dataclass(frozen=True)
class Mutant:
    name: str
    path: Path  # the source file, relative to the project root
    status: str

    @property
    def package(self) -> str:
        return next(p for p in PACKAGES if self.path.is_relative_to(p))


def load_mutants() -> list[Mutant]:
    """Every mutant mutmut generated, with the outcome its meta file records."""
    mutants: list[Mutant] = []
    for path in walk_mutatable_files():
        data = SourceFileMutationData(path=path)
        data.load()
        mutants.extend(
            Mutant(name, Path(path), status_by_exit_code[code]) for name, code in data.exit_code_by_key.items()
        )
    return mutants


def score_table(mutants: list[Mutant]) -> str:
    """Counts per package and in total; the score is killed / mutants that were tested."""
    header = f"{'package':<20}{'mutants':>8}" + "".join(f"{c:>12}" for c in (*COLUMNS, "other", NOT_CHECKED))
    rows = [header + f"{'score':>8}"]
    for package in (*PACKAGES, "total"):
        counts = Counter(m.status for m in mutants if package in ("total", m.package))
        total = sum(counts.values())
        tested = total - counts[NOT_CHECKED]
        killed = sum(counts[s] for s in KILLED)
        other = tested - killed - sum(counts[c] for c in COLUMNS[1:])
        cells = (killed, *(counts[c] for c in COLUMNS[1:]), other, counts[NOT_CHECKED])
        score = f"{100 * killed / tested:.1f}%" if tested else "-"
        rows.append(f"{package:<20}{total:>8}" + "".join(f"{n:>12}" for n in cells) + f"{score:>8}")
    return "\n".join(rows)


def changed_line(mutant: Mutant, diff: str) -> int | None:
    """The line of the source file that the mutant changes, for a `file:line` a person can open.

    mutmut's diff covers the mutated function only, so the first removed line is looked up
    inside that function in the source file (the nearest copy to where the diff puts it, when
    the function repeats it); None when the source no longer has it.
    """
    source = (ROOT / mutant.path).read_text()
    removed = first_removed_line(diff)
    function = find_function(ast.parse(source), mutant.name)
    if removed is None or function is None:
        return None
    position, text = removed
    lines = source.splitlines()
    first = min([function.lineno, *(d.lineno for d in function.decorator_list)])
    matches = [n for n in range(first, (function.end_lineno or first) + 1) if lines[n - 1].strip() == text]
    return min(matches, key=lambda n: abs(n - (first + position - 1)), default=None)


def first_removed_line(diff: str) -> tuple[int, str] | None:
    """Where (1-based, within the function's text) and what the first line the mutant removes is."""
    position = 0
    for line in diff.splitlines()[2:]:  # after the ---/+++ file headers
        if line.startswith("@@"):
            position = int(line.split()[1].lstrip("-").split(",")[0]) - 1
        elif line.startswith("-"):
            return position + 1, line[1:].strip()
        elif not line.startswith("+"):
            position += 1
    return None


def find_function(module: ast.Module, mutant_name: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The top-level function or method (of a top-level class) that mutmut mutated."""
    function_name, class_name = orig_function_and_class_names_from_key(mutant_name)
    body = module.body
    if class_name is not None:
        body = next((n.body for n in module.body if isinstance(n, ast.ClassDef) and n.name == class_name), [])
    functions = (n for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))
    return next((f for f in functions if f.name == function_name), None)


def write_survivors(mutants: list[Mutant]) -> int:
    """One file per package listing each surviving mutant, its place and its diff."""
    shutil.rmtree(SURVIVORS, ignore_errors=True)  # a mutant killed since the last run must not linger
    SURVIVORS.mkdir(parents=True)
    survivors = [m for m in mutants if m.status not in KILLED and m.status != NOT_CHECKED]
    for package in PACKAGES:
        found = [(m, get_diff_for_mutant(m.name, path=m.path)) for m in survivors if m.package == package]
        located = sorted(((m, diff, changed_line(m, diff) or 0) for m, diff in found), key=lambda e: (e[0].path, e[2]))
        entries = [f"# {m.name}: {m.status}  ({m.path}:{line or '?'})\n{diff}\n" for m, diff, line in located]
        if entries:
            (SURVIVORS / f"{package.replace('/', '-')}.diff").write_text("\n".join(entries))
    return len(survivors)


def main(argv: list[str]) -> int:
    """The summary; with `--pending [PACKAGE...]`, only the names of the mutants not checked yet
    (in those packages), for `mutmut run` to finish an interrupted run where it matters first."""
    os.chdir(ROOT)  # mutmut's library finds pyproject.toml and mutants/ in the working directory
    mutants = load_mutants()
    if not mutants:
        print("No mutmut results in mutants/: run `make mutation` first.", file=sys.stderr)
        return 1
    if argv[:1] == ["--pending"]:
        wanted = set(argv[1:]) or set(PACKAGES)
        print("\n".join(m.name for m in mutants if m.status == NOT_CHECKED and m.package in wanted))
        return 0
    unchecked = sum(m.status == NOT_CHECKED for m in mutants)
    survivors = write_survivors(mutants)
    lines = [
        "Mutation testing of actions/ and channels/ against the quick suites (pytest -m 'not slow')",
        score_table(mutants),
        "actions = the modules directly in actions/, outside its sub-packages.",
        "score = killed / mutants tested; survived, timeout, no tests and other (suspicious, crash) count against it.",
        f"{survivors} surviving mutants with their diffs: {SURVIVORS.relative_to(ROOT)}/<package>.diff",
    ]
    if unchecked:
        lines.append(f"WARNING: {unchecked} mutants were not checked (an interrupted run): rerun `make mutation`.")
    summary = "\n".join(lines)
    print(summary)
    (ARTIFACTS / "summary.txt").write_text(summary + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
