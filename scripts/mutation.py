"""Mutation testing of the core packages with mutmut: `make mutation` (slow; not part of CI).

mutmut 3 mutates a copy of the sources (in <work>/mutants/) and, for each mutant, runs only the
tests that executed the mutated function. Its test selection is one list per run, so this runs
mutmut once per group of [tool.tts-ebm.mutation.groups] in pyproject.toml, each in its own work
folder (build/mutation/<group>/) whose pyproject.toml gets a [tool.mutmut] table with the
group's files and tests: a criterion mutant is judged by the criterion tests, not by every
training run that happens to call the criterion. Results persist between runs (mutmut re-tests
only what changed). Survivors named in [tool.tts-ebm.mutation.equivalent] count as equivalent.

    python scripts/mutation.py                 # every group
    python scripts/mutation.py criteria samplers --jobs 1
    python scripts/mutation.py criteria --mutants 'tts_ebm.criteria.nce.*'   # re-test some
    cd build/mutation/criteria && mutmut show NAME   # the diff of one mutant
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["tts_ebm", "vocoder", "data_prep"]  # copied whole so that imports resolve
# read by tests (toy criteria, recipe configs); copied beside the mutants
EXTRAS = ["benchmarks", *sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("egs/*/conf"))]
COPIED = [*PACKAGES, *EXTRAS, "tests"]
KILLED = {"killed", "timeout", "segfault", "caught by type check"}


def read_settings() -> tuple[dict[str, dict[str, list[str]]], dict[str, str]]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["tts-ebm"]["mutation"]
    return data["groups"], data.get("equivalent", {})


def mutmut_table(group: dict[str, list[str]]) -> str:
    """The [tool.mutmut] table of one group (TOML strings are JSON strings here)."""
    settings = {
        "source_paths": PACKAGES,
        "only_mutate": group["mutate"],
        "also_copy": EXTRAS,
        "pytest_add_cli_args_test_selection": group["tests"],
        "pytest_add_cli_args": ["-p", "no:cacheprovider"],
    }
    return "\n[tool.mutmut]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items())


def prepare(work: Path, group: dict[str, list[str]]) -> None:
    """Fresh copies of the sources and tests; mutmut's own state (work/mutants) is kept."""
    work.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        shutil.rmtree(work / name, ignore_errors=True)
        shutil.copytree(ROOT / name, work / name, ignore=shutil.ignore_patterns("__pycache__"))
    pyproject = (ROOT / "pyproject.toml").read_text()
    (work / "pyproject.toml").write_text(pyproject + mutmut_table(group))


def statuses(mutmut: Path, work: Path) -> dict[str, str]:
    """Mutant name -> mutmut's status (killed, survived, no tests, timeout, ...)."""
    out = subprocess.run([str(mutmut), "results", "--all", "true"], cwd=work, check=True,
                         capture_output=True, text=True).stdout
    pairs = (line.strip().rsplit(": ", 1) for line in out.splitlines() if ": " in line)
    return {name: status for name, status in pairs}


def score(found: dict[str, str], equivalent: dict[str, str]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for name, status in found.items():
        if status in KILLED:
            counts["killed"] += 1
        elif status == "survived" and name in equivalent:
            counts["equivalent"] += 1
        else:
            counts[status] += 1
    return dict(counts)


def main() -> int:
    groups, equivalent = read_settings()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("groups", nargs="*", metavar="GROUP",
                        help=f"groups to run (default: all of {', '.join(groups)})")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="mutants tested in parallel (default: one per CPU core)")
    parser.add_argument("--mutants", nargs="+", default=[], metavar="NAME",
                        help="re-test only these mutants (names or globs, e.g. the survivors "
                             "after a new test); with one group")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "mutation",
                        help="work folders and summary.json (default: build/mutation)")
    args = parser.parse_args()
    unknown = sorted(set(args.groups) - set(groups))
    if unknown:
        parser.error(f"unknown group(s) {', '.join(unknown)}; choose from {', '.join(groups)}")
    if args.mutants and len(args.groups) != 1:
        parser.error("--mutants needs exactly one group")
    mutmut = Path(sys.executable).parent / "mutmut"
    if not mutmut.exists():
        parser.error(f"{mutmut} not found: pip install -e '.[mutation]'")
    env = os.environ | {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    summary = {}
    for name in args.groups or list(groups):
        work = args.out / name
        prepare(work, groups[name])
        print(f"== {name}: mutating {groups[name]['mutate']} against {groups[name]['tests']}",
              flush=True)
        subprocess.run([str(mutmut), "run", "--max-children", str(args.jobs), *args.mutants],
                       cwd=work, env=env, check=True)
        found = statuses(mutmut, work)
        survivors = sorted(n for n, s in found.items() if s == "survived" and n not in equivalent)
        summary[name] = {"score": score(found, equivalent), "survivors": survivors}
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print("\ngroup      " + "  ".join(f"{k:>10}" for k in ("killed", "survived", "equivalent")))
    for name, result in summary.items():
        counts = result["score"]
        others = {k: v for k, v in counts.items() if k not in ("killed", "survived", "equivalent")}
        print(f"{name:10} " + "  ".join(f"{counts.get(k, 0):>10}"
                                        for k in ("killed", "survived", "equivalent")),
              f"  {others}" if others else "")
        for survivor in result["survivors"]:
            print(f"    survived: {survivor}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
