"""Mutation score of the engine's maths: run mutmut over the scope below and report survivors.

    python tests/mutation.py            # run (resumes where a previous run stopped), then report
    python tests/mutation.py --report   # report only, from the last run

mutmut copies vidrec/ into mutants/, changes one operator, constant or call at a time and runs
the tests that reach the changed function (the fast selection in pyproject.toml [tool.mutmut]).
A mutant is killed when a test fails. Survivors shown to be equivalent (no input can tell them
apart from the original) are listed in equivalent_mutants.json with the reason and leave the
denominator.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCOPE = [  # the maths: ranking, interest mapping, item-item, content map, metrics, pooling
    "vidrec.recommender.*",
    "vidrec.catalog.*",  # the look-ups that left the recommender
    "vidrec.mf.*",
    "vidrec.itemitem.*",
    "vidrec.mapping.*",
    "vidrec.metrics.*",
    "vidrec.evaluation.topk.x_beyond_accuracy__mutmut_*",
    "vidrec.evaluation.topk.x_stratified_split__mutmut_*",
    "vidrec.content.xǁContentEncoderǁ_embed_batch__mutmut_*",
    "vidrec.content.xǁTokenAttentionǁ*",
]
# mutant name -> why no input can tell it from the original (checked by hand, one by one)
EQUIVALENT: dict[str, str] = json.loads((REPO / "tests" / "equivalent_mutants.json").read_text())
KILLED = {"killed", "timeout"}  # mutmut counts a test run past its time limit as caught


def run(children: int, names: list[str]) -> None:
    """Run the given mutants (glob patterns), skipping those with a result already."""
    cmd = ["mutmut", "run", "--max-children", str(children), *names]
    subprocess.run(cmd, cwd=REPO, check=False, stdout=sys.stderr)  # stdout: the report only


def results() -> dict[str, str]:
    """mutant name -> status, for the mutants in scope."""
    out = subprocess.run(
        ["mutmut", "results", "--all", "true"], cwd=REPO, capture_output=True, text=True
    ).stdout
    status = {}
    for line in out.splitlines():
        name, _, state = line.strip().rpartition(": ")
        if any(fnmatch.fnmatch(name, pattern) for pattern in SCOPE):
            status[name] = state
    return status


def report(status: dict[str, str]) -> dict:
    """Score per module and overall, over non-equivalent mutants that were run."""
    modules: dict[str, Counter] = {}
    survivors = []
    for name, state in sorted(status.items()):
        module = name.split(".x")[0]
        if name in EQUIVALENT:
            state = "equivalent"
        elif state not in KILLED and state != "not checked":
            survivors.append(f"{name}: {state}")
        modules.setdefault(module, Counter())[state] += 1
    table = {m: _score(c) for m, c in modules.items()}
    table["all"] = _score(sum(modules.values(), Counter()))
    return {"scores": table, "survivors": survivors, "equivalent": EQUIVALENT}


def _score(counts: Counter) -> dict:
    killed = sum(counts[s] for s in KILLED)
    tried = sum(counts.values()) - counts["equivalent"] - counts["not checked"]
    return {
        "killed": killed,
        "tried": tried,
        "score": round(killed / tried, 3) if tried else None,
        **{k: v for k, v in counts.items() if k not in KILLED},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", action="store_true", help="report the last run only")
    parser.add_argument("--children", type=int, default=2, help="mutants run at once")
    args = parser.parse_args()
    if not args.report:
        run(args.children, SCOPE)
    summary = report(results())
    json.dump(summary, sys.stdout, indent=1, ensure_ascii=False)
    print()


if __name__ == "__main__":
    main()
