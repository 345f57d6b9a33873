#!/usr/bin/env python3
"""Where a kernel's warps wait, per SASS instruction, from an ncu report.

Reads the CSV that Nsight Compute writes for its source page
(`ncu --import REPORT.ncu-rep --page source --print-source sass --csv`,
a report taken with `--set full`, whose warp-state sampling fills the
stall_* columns) and prints, per kernel in it: the share of the stall
samples by reason, by opcode, and the instructions with the most samples
with their top reasons.

  tools/gpu/ncu_stalls.py SOURCE.csv [--top 25]

Example (on the GPU machine):
  ncu --kernel-name regex:fly_monarch --launch-count 2 --set full -o /tmp/m \\
      fly-run ART --weights random --iters 1 --warmup 0 --cuda-graph off
  ncu --import /tmp/m.ncu-rep --page source --print-source sass --csv > m.csv
"""
import argparse
import collections
import csv
import sys


def kernels(rows):
    """(name, header, body rows) per kernel section of the CSV."""
    starts = [i for i, r in enumerate(rows) if r and r[0] == "Kernel Name"]
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(rows)
        yield rows[start][1], rows[start + 1], rows[start + 2:end]


def opcode(source):
    words = source.split()
    if words and words[0].startswith("@"):  # predicate
        words = words[1:]
    return words[0].split(".")[0] if words else "?"


def top_reasons(counts, n=3):
    return ", ".join("%s %d" % (reason[len("stall_"):], c)
                     for reason, c in counts.most_common(n) if c)


def report(name, header, body, top):
    col = {h: i for i, h in enumerate(header)}
    needed = ["Address", "Source", "Warp Stall Sampling (All Samples)",
              "Instructions Executed"]
    missing = [h for h in needed if h not in col]
    if missing:
        sys.exit("ncu_stalls.py: kernel %s: no column %s (was the report taken "
                 "with --set full and printed with --page source --csv?)"
                 % (name, ", ".join(missing)))
    reasons = [h for h in header if h.startswith("stall_") and "Not Issued" not in h]
    total = collections.Counter()
    by_op = collections.Counter()
    by_op_reason = collections.defaultdict(collections.Counter)
    lines = []
    for r in body:
        if len(r) < len(header):
            continue
        samples = int(r[col["Warp Stall Sampling (All Samples)"]] or 0)
        op = opcode(r[col["Source"]])
        by_op[op] += samples
        per = collections.Counter()
        for reason in reasons:
            v = int(r[col[reason]] or 0)
            total[reason] += v
            by_op_reason[op][reason] += v
            per[reason] = v
        lines.append((samples, r[col["Address"]], r[col["Source"]], per,
                      int(r[col["Instructions Executed"]] or 0)))
    samples = sum(l[0] for l in lines) or 1
    print("=== %s: %d samples, %d SASS lines" % (name, samples, len(lines)))
    print("stall reasons: " + ", ".join(
        "%s %.1f%%" % (reason[len("stall_"):], 100.0 * v / samples)
        for reason, v in total.most_common(10)))
    print("by opcode:")
    for op, v in by_op.most_common(14):
        print("  %-10s %5.1f%%  (%s)" % (op, 100.0 * v / samples,
                                         top_reasons(by_op_reason[op])))
    print("top instructions (share of samples, address, SASS, reasons, executions):")
    for s, address, source, per, executed in sorted(lines, key=lambda l: -l[0])[:top]:
        print("  %5.2f%% %s %-60s [%s] exec %d" % (100.0 * s / samples, address,
                                                  source[:60], top_reasons(per), executed))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("csv", help="ncu --page source --print-source sass --csv output")
    ap.add_argument("--top", type=int, default=25, help="instructions to list per kernel")
    args = ap.parse_args()
    try:
        with open(args.csv, newline="") as f:
            rows = list(csv.reader(f))
    except OSError as e:
        sys.exit("ncu_stalls.py: cannot read %s: %s" % (args.csv, e.strerror))
    sections = list(kernels(rows))
    if not sections:
        sys.exit("ncu_stalls.py: %s has no 'Kernel Name' section (not an ncu "
                 "source-page CSV?)" % args.csv)
    for name, header, body in sections:
        report(name, header, body, args.top)


if __name__ == "__main__":
    main()
