#!/usr/bin/python3
"""Compares `nncmp issues --method cl`'s flagged set with cleanlab_default (tools/bench_triage.py,
the NumPy reimplementation of cleanlab 2.9's find_label_issues default) on every study under DIR.

Usage: tools/cl_vs_cleanlab.py DIR ./nncmp   (exit status 1 when any study differs)
"""
import json
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_triage  # noqa: E402
import make_issue_fixtures as oracle  # noqa: E402


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    top, nncmp = sys.argv[1], sys.argv[2]
    differ = 0
    for st in sorted(d for d in os.listdir(top) if os.path.isdir(os.path.join(top, d))):
        path = os.path.join(top, st)
        labels, _, models, _ = oracle.load_study(path)
        ref = set(np.nonzero(bench_triage.cleanlab_default(oracle.mean_probs(models, None),
                                                           labels))[0].tolist())
        out = json.loads(subprocess.run(
            [nncmp, "--no-journal", "issues", path, "--method", "cl", "--top", str(len(labels)),
             "--json"], capture_output=True, text=True, check=True).stdout)
        got = {e["index"] for e in out["issues"] if e["flagged"]}
        same = got == ref and out["count"] == len(ref)
        differ += not same
        print(f"{st}: cleanlab {len(ref)} nncmp {out['count']} "
              f"only-nncmp {len(got - ref)} only-cleanlab {len(ref - got)}"
              + ("" if same else "  DIFFERENT"))
    print(f"{differ} of the studies differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
