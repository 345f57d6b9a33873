#!/usr/bin/env python3
"""Stand-in for torch_peer_bench.py in bench-clocks.test: every case of
--batches x --structures takes 4 ms (the CSV columns gpu_gpt2.py reads)."""
import argparse
import csv
import time

ap = argparse.ArgumentParser()
ap.add_argument("--batches")
ap.add_argument("--iters")
ap.add_argument("--modes")
ap.add_argument("--csv")
ap.add_argument("--structures")
args = ap.parse_args()
with open(args.csv, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["model", "variant", "mode", "batch", "seq", "dtype", "avg_ms", "min_ms"])
    for s in args.structures.split(","):
        for b in args.batches.split(","):
            for model in ("gpt2-body", "mlp-layer"):
                w.writerow([model, s, args.modes, b, 1024, "float16", 4.0, 4.0])
time.sleep(0.3)
