#!/usr/bin/env python3
"""A/B timing of two sets of fly GPU artifacts of the same models.

For every gpt2-*.fly artifact present in both --a and --b (e.g. made by
tools/bench/gpu-make-artifacts.sh from two commits, or with and without a
fly-compile flag through FLY_CUDA_FLAGS), runs fly-run on each in turn,
--rounds times (alternating, so that clock and thermal drift hit both), and
prints the median of each side's per-round medians and their ratio. The
machine is noisy: read differences below ~2% as noise.

  python3 tools/bench/gpu_ab.py --fly-run RUN --a DIR_A --b DIR_B [--rounds 5]
"""
import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpu_gpt2 import run_fly  # noqa: E402  (same fly-run invocation)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fly-run", required=True)
    ap.add_argument("--a", required=True, help="baseline artifact directory")
    ap.add_argument("--b", required=True, help="candidate artifact directory")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--fly-graph", choices=["on", "off"], default="on")
    args = ap.parse_args()
    names = sorted(n for n in os.listdir(args.a)
                   if n.startswith("gpt2-") and n.endswith(".fly")
                   and os.path.isdir(os.path.join(args.b, n)))
    if not names:
        sys.exit("gpu_ab.py: no gpt2-*.fly artifact in both %s and %s" % (args.a, args.b))
    print("| artifact | A ms | B ms | B / A |")
    print("|----------|-----:|-----:|------:|")
    failed = False
    for name in names:
        times = {"a": [], "b": []}
        for _ in range(args.rounds):
            for side in ("a", "b"):
                ms, out = run_fly(args, os.path.join(getattr(args, side), name))
                if ms is None:
                    print("%s (%s) failed:\n%s" % (name, side, out), file=sys.stderr)
                    failed = True
                    break
                times[side].append(ms)
        if len(times["a"]) != args.rounds or len(times["b"]) != args.rounds:
            continue
        a, b = statistics.median(times["a"]), statistics.median(times["b"])
        print("| %s | %.3f | %.3f | %.3f |" % (name, a, b, b / a), flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
