"""Times torch.nn.Linear (fp16, with bias) of the in/out sizes of each
Monarch case in the CSV check.cpp wrote, and prints monarch/dense ratios.

Timing: CUDA events around REPEATS back-to-back calls, median over SAMPLES
(same structure as check.cpp's `_repeat` timing). For GELU cases it also
times Linear followed by gelu(approximate='tanh') (two kernels in eager
PyTorch), the dense equivalent of the fused Monarch kernel.
"""
import csv
import statistics
import sys

import torch

REPEATS, SAMPLES = 20, 30


def time_us(fn):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    start = torch.cuda.Event(enable_timing=True)
    stop = torch.cuda.Event(enable_timing=True)
    times = []
    for _ in range(SAMPLES):
        start.record()
        for _ in range(REPEATS):
            fn()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop) * 1e3 / REPEATS)
    return statistics.median(times)


def main():
    rows = [r for r in csv.DictReader(open(sys.argv[1]))
            if r["bf16"] == "0" and int(r["m"]) >= 8192]
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}")
    print(f"{'case':58s} {'m':>6s} {'in':>5s} {'out':>5s} | {'monarch us':>10s}"
          f" {'dense us':>9s} {'ratio':>6s} | {'dense+gelu us':>13s} {'ratio':>6s}")
    torch.manual_seed(0)
    with torch.no_grad():
        for r in rows:
            m, fin, fout = int(r["m"]), int(r["in"]), int(r["out"])
            lin = torch.nn.Linear(fin, fout, device="cuda", dtype=torch.float16)
            x = torch.randn(m, fin, device="cuda", dtype=torch.float16)
            dense = time_us(lambda: lin(x))
            mon = float(r["monarch_us"])
            line = (f"{r['name']:58s} {m:6d} {fin:5d} {fout:5d} | {mon:10.1f}"
                    f" {dense:9.1f} {mon / dense:6.3f} |")
            if r["gelu"] == "1":
                act = time_us(lambda: torch.nn.functional.gelu(
                    lin(x), approximate="tanh"))
                line += f" {act:13.1f} {mon / act:6.3f}"
            print(line, flush=True)
            del lin, x
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
