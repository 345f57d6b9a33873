#!/usr/bin/env python3
"""GPU benchmark: fly's GPT-2 small body and MLP layer against PyTorch, one run.

Runs on the GPU machine. Times the artifacts of tools/bench/gpu-make-artifacts.sh
with fly-run (median wall time of --iters calls, each ending in a stream
synchronisation) and, in the same run, ../shared/peers/torch_peer_bench.py
(CUDA-event medians) on the same shapes, then prints one table with ratios
fly / PyTorch dense eager (the issue's targets are ratios in one run).

  gpu_gpt2.py --fly-run BUILD/bin/fly-run --artifacts DIR --peer torch_peer_bench.py
              [--iters 25] [--modes eager] [--repeats 3] [--csv OUT.csv] [--profile DIR]

fly-run replays each call as a CUDA graph (its default; --fly-graph off
runs the compiled host code every call instead, as PyTorch eager does).

With nvidia-smi present, the GPU's SM clock and power are sampled while
each side runs (gpu_clocks.py): the table's fly_MHz / fly_capped columns
give fly's mean clock while busy and the share of busy samples with a
power or thermal cap active, and a line per peer run gives the same for
PyTorch, since a power-capped side runs at a lower clock.

With --repeats N the peer and fly alternate N times (peer, fly, peer, ...);
the table shows the median over repeats of each side's median, and the
spread (min-max over repeats) so that noise is visible next to the ratio.
"""
import argparse
import csv
import os
import re
import statistics
import subprocess
import sys

from gpu_clocks import ClockSampler, clock_columns, describe, nvidia_smi_available

NAME = re.compile(r"gpt2-(body|mlp)-(dense|monarch\d+)-b(\d+)\.fly$")
MEDIAN = re.compile(r"median ([0-9.]+) ms")
GRAPH = re.compile(r"; CUDA graph ([^)]*)\)")


def run_peer(args, repeat=0):
    out = os.path.join(args.out_dir, "peer%d.csv" % repeat)
    structures = sorted({s for (_, s, _) in args.cases})
    cmd = [sys.executable, args.peer, "--batches", ",".join(str(b) for b in args.batches),
           "--iters", str(args.iters), "--modes", args.modes, "--csv", out,
           "--structures", ",".join("monarch:" + s[7:] if s.startswith("monarch") else s
                                    for s in structures)]
    print("+", " ".join(cmd), flush=True)
    with ClockSampler() as clocks:
        subprocess.run(cmd, check=True)
    if clocks.available:
        print("peer clocks: " + describe(clocks.summary()), flush=True)
    rows = {}
    with open(out) as f:
        for r in csv.DictReader(f):
            variant = r["variant"].replace(":", "")
            part = "body" if r["model"] == "gpt2-body" else "mlp"
            rows[(part, variant, r["mode"], int(r["batch"]))] = float(r["avg_ms"])
    return rows


def run_fly(args, path, profile=None, extra=()):
    cmd = [args.fly_run, path, "--weights", "random", "--iters", str(args.iters),
           "--warmup", "5", "--cuda-graph", args.fly_graph] + list(extra) + ["--quiet"]
    if profile:
        cmd = cmd[:-1] + ["--profile", profile]
    with ClockSampler() as clocks:
        res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # args.clocks: (path, extra options) -> the clock summaries of its runs
    args.clocks.setdefault((path, tuple(extra)), []).append(clocks.summary())
    if res.returncode != 0:
        print(res.stdout, file=sys.stderr)
        return None, res.stdout
    m = MEDIAN.search(res.stdout)
    graph = GRAPH.search(res.stdout)
    if graph and not graph.group(1).startswith("on"):
        print("note: %s: CUDA graph %s" % (os.path.basename(path), graph.group(1)),
              file=sys.stderr)
    return (float(m.group(1)) if m else None), res.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fly-run", required=True)
    ap.add_argument("--artifacts", required=True)
    ap.add_argument("--peer", required=True)
    ap.add_argument("--iters", type=int, default=25)
    ap.add_argument("--modes", default="eager")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--csv")
    ap.add_argument("--fly-graph", choices=["on", "off"], default="on",
                    help="fly-run --cuda-graph (default on)")
    ap.add_argument("--out-dir", default=os.environ.get("OUT", "/tmp"))
    ap.add_argument("--profile", help="also write a Chrome trace + kernel table of "
                    "each body artifact (first repeat) into this directory")
    args = ap.parse_args()

    args.cases = []
    for entry in sorted(os.listdir(args.artifacts)):
        m = NAME.match(entry)
        if m:
            args.cases.append((m.group(1), m.group(2), int(m.group(3))))
    if not args.cases:
        sys.exit("no gpt2-{body,mlp}-*-b*.fly artifacts in " + args.artifacts)
    args.batches = sorted({b for (_, _, b) in args.cases})
    args.clocks = {}
    if not nvidia_smi_available():
        print("note: nvidia-smi not found: no clock columns", file=sys.stderr)


    peers, flys = [], {}
    os.makedirs(args.out_dir, exist_ok=True)
    if args.profile:
        os.makedirs(args.profile, exist_ok=True)
    for repeat in range(args.repeats):
        peers.append(run_peer(args, repeat))
        for part, variant, batch in args.cases:
            path = os.path.join(args.artifacts, "gpt2-%s-%s-b%d.fly" % (part, variant, batch))
            profile = None
            if args.profile and repeat == 0 and part == "body":
                profile = os.path.join(args.profile, "trace-%s-%s-b%d.json" % (part, variant, batch))
            ms, log = run_fly(args, path, profile)
            if profile:
                print("--- fly-run --profile %s" % os.path.basename(path))
                print("\n".join(l for l in log.splitlines() if not l.startswith("fly-run:"))[:6000])
            flys.setdefault((part, variant, batch), []).append(ms)
    peer = {}
    spread = {}
    for key in peers[0]:
        values = [p[key] for p in peers if key in p]
        peer[key] = statistics.median(values)
        spread[key] = (min(values), max(values))
    results = []
    fly_spread = {}
    for key, values in flys.items():
        ok = [v for v in values if v is not None]
        ms = statistics.median(ok) if len(ok) == len(values) else None
        fly_spread[key] = (min(ok), max(ok)) if ok else None
        results.append(key + (ms,))
    header = ["part", "variant", "batch", "fly_ms"]
    if args.repeats > 1:
        header += ["fly_range"]
    modes = args.modes.split(",")
    for mode in modes:
        header += ["torch_%s_same_ms" % mode, "torch_%s_dense_ms" % mode,
                   "fly/torch_%s_dense" % mode]
    header += ["fly_MHz", "fly_capped"]
    rows = []
    for part, variant, batch, ms in results:
        row = [part, variant, batch, "FAIL" if ms is None else "%.3f" % ms]
        if args.repeats > 1:
            r = fly_spread.get((part, variant, batch))
            row += ["%.3f-%.3f" % r if r else "-"]
        for mode in modes:
            same = peer.get((part, variant, mode, batch))
            dense = peer.get((part, "dense", mode, batch))
            dense_range = spread.get((part, "dense", mode, batch))
            row += ["%.3f" % same if same else "-",
                    ("%.3f" % dense + (" (%.3f-%.3f)" % dense_range if args.repeats > 1 else ""))
                    if dense else "-",
                    "%.2f" % (ms / dense) if ms and dense else "-"]
        path = os.path.join(args.artifacts, "gpt2-%s-%s-b%d.fly" % (part, variant, batch))
        row += clock_columns(args.clocks.get((path, ()), []))
        rows.append(row)
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    print()
    for r in [header] + rows:
        print("  ".join(str(x).rjust(w) for x, w in zip(r, widths)))
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(rows)
    return 0 if all(ms is not None for *_, ms in results) else 1


if __name__ == "__main__":
    sys.exit(main())
