#!/usr/bin/env python3
"""A/B timing of sets of fly GPU artifacts of the same models.

For every gpt2-*.fly artifact present in --a and in each --b (e.g. made by
tools/bench/gpu-make-artifacts.sh from two commits, or with and without a
fly-compile flag through FLY_CUDA_FLAGS), runs fly-run on each in turn,
--rounds times (alternating, each round starting with the next side, so
that clock and thermal drift and first-run effects hit all), and
prints the median of each side's per-round medians and the ratios to A,
then each side's geometric mean of those ratios and the fastest side.
The machine is noisy: read differences below ~2% as noise.

  python3 tools/bench/gpu_ab.py --fly-run RUN --a DIR_A --b DIR_B [--b DIR_C ...]
                                [--rounds 5] [--match REGEX]

A side may add fly-run options after its directory, e.g. --b "DIR --pdl=off"
(the same artifacts run two ways).
"""
import argparse
import math
import os
import re
import shlex
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpu_clocks import clock_columns  # noqa: E402
from gpu_gpt2 import run_fly  # noqa: E402  (same fly-run invocation)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fly-run", required=True)
    ap.add_argument("--a", required=True, help="baseline artifact directory")
    ap.add_argument("--b", required=True, action="append",
                    help="candidate artifact directory (repeatable)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--match", default="",
                    help="only artifacts whose name matches this regex (e.g. body)")
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--fly-graph", choices=["on", "off"], default="on")
    args = ap.parse_args()
    args.clocks = {}  # filled by run_fly: each side's SM clock while it ran
    # Each side: its directory, then any extra fly-run options.
    sides = [shlex.split(s) for s in [args.a] + args.b]
    for s in sides:
        if not s or not os.path.isdir(s[0]):
            sys.exit("gpu_ab.py: not an artifact directory: %r" % " ".join(s))
    dirs = [s[0] for s in sides]
    names = sorted(n for n in os.listdir(dirs[0])
                   if n.startswith("gpt2-") and n.endswith(".fly")
                   and re.search(args.match, n)
                   and all(os.path.isdir(os.path.join(d, n)) for d in dirs[1:]))
    if not names:
        sys.exit("gpu_ab.py: no gpt2-*.fly artifact in all of %s" % ", ".join(dirs))
    labels = ["A"] + ["B%d" % (i + 1) if len(args.b) > 1 else "B" for i in range(len(args.b))]
    for label, s in zip(labels, sides):
        print("%s = %s" % (label, " ".join(s)))
    print("| artifact | " + " | ".join(l + " ms" for l in labels) + " | " +
          " | ".join(l + " / A" for l in labels[1:]) + " | " +
          " | ".join(l + " MHz" for l in labels) + " |")
    print("|----------|" + "-----:|" * (3 * len(sides) - 1))
    failed = False
    medians = []  # per artifact timed on every side: each side's median
    for name in names:
        times = [[] for _ in sides]
        for r in range(args.rounds):
            # Each round starts with a different side: the first run after
            # another artifact measured slow (the baseline at b8 in the
            # sixth session's A/B: 2.68 ms vs 2.58-2.60 elsewhere), and a
            # fixed order would charge that to A every round.
            for i in [(r + j) % len(sides) for j in range(len(sides))]:
                s = sides[i]
                ms, out = run_fly(args, os.path.join(s[0], name), extra=s[1:])
                if ms is None:
                    print("%s (%s) failed:\n%s" % (name, " ".join(s), out),
                          file=sys.stderr)
                    failed = True
                else:
                    times[i].append(ms)
        if any(len(t) != args.rounds for t in times):
            continue
        med = [statistics.median(t) for t in times]
        mhz = [clock_columns(args.clocks.get((os.path.join(s[0], name), tuple(s[1:])), []))[0]
               for s in sides]
        print("| %s | %s | %s | %s |" % (name, " | ".join("%.3f" % m for m in med),
                                         " | ".join("%.3f" % (m / med[0]) for m in med[1:]),
                                         " | ".join(mhz)),
              flush=True)
        medians.append(med)
    if medians:
        # One number per side across the artifacts (they differ in size, so
        # ratios, not times, are averaged), and the side a script would pick.
        logs = [sum(math.log(m[i] / m[0]) for m in medians) / len(medians)
                for i in range(len(sides))]
        print("geometric mean of X / A over %d artifact(s): %s" % (
            len(medians), ", ".join("%s %.3f" % (labels[i], math.exp(logs[i]))
                                    for i in range(1, len(sides)))))
        best = min(range(len(sides)), key=lambda i: logs[i])
        print("fastest: %s = %s" % (labels[best], " ".join(sides[best])))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
