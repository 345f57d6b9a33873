#!/usr/bin/env python3
"""Long-sequence attention on the GPU: fly's attentions against SDPA and FlexAttention.

Issue #6's benchmark: batch 1, 12 heads, head dim 64, sequence 4K, 16K and
64K, fp16, non-causal. Two steps, because fly compiles on the CPU machine
(LLVM is not on the GPU machine):

  # CPU machine: one attention-only module per kind and length, compiled
  gpu_long_attention.py compile --build build --out DIR [--seqs 4096,16384,65536]

  # GPU machine, one command: fly (fly-run) and the peers (PyTorch) alternate
  gpu_long_attention.py run --fly-run BUILD/bin/fly-run --artifacts DIR [--csv out.csv]

fly kinds (fly ops on [1, 12, T, 64] f16 q, k, v):
  dense          fly.attention (softmax over all keys; the flash kernel)
  local256       fly.local_attention window = 256 (keys i-128 .. i+127)
  scatterbrain   fly.scatterbrain_attention window = 256, 64 random features

Peers, timed in the same process run (CUDA events, median of --iters):
  sdpa-dense     torch.nn.functional.scaled_dot_product_attention
  flex-local256  torch.compile(flex_attention) with a block mask keeping the
                 same 256 keys per query (i-128 <= j < i+128)

fly's time is fly-run's median wall time per call (each call ends with a
stream synchronisation; inputs stay on the GPU). The table shows each kind's
median in ms and the issue's ratios: local256 / flex-local256,
scatterbrain / flex-local256 and sdpa-dense / scatterbrain. A kind that fails
(e.g. out of memory) is reported as failed, with fly-run's error.
"""
import argparse
import csv
import datetime
import os
import re
import shlex
import subprocess
import sys

HEADS, HEAD_DIM, WINDOW, FEATURES = 12, 64, 256, 64
KINDS = ("dense", "local256", "scatterbrain")
MEDIAN = re.compile(r"median ([0-9.]+) ms")


def module_text(kind, seq):
    t = "tensor<1x%dx%dx%dxf16>" % (HEADS, seq, HEAD_DIM)
    args = "%%q: %s, %%k: %s, %%v: %s" % (t, t, t)
    if kind == "dense":
        op = "fly.attention %%q, %%k, %%v : (%s, %s, %s) -> %s" % (t, t, t, t)
    elif kind == "local256":
        op = ("fly.local_attention %%q, %%k, %%v window = %d : (%s, %s, %s) -> %s"
              % (WINDOW, t, t, t, t))
    else:
        p = "tensor<%dx%dxf16>" % (FEATURES, HEAD_DIM)
        args += ", %%proj: %s" % p
        op = ("fly.scatterbrain_attention %%q, %%k, %%v, %%proj window = %d : "
              "(%s, %s, %s, %s) -> %s" % (WINDOW, t, t, t, p, t))
    return ("func.func @attention(%s) -> %s {\n  %%o = %s\n  return %%o : %s\n}\n"
            % (args, t, op, t))


def compile_all(args):
    compiler = os.path.join(args.build, "bin", "fly-compile")
    os.makedirs(args.out, exist_ok=True)
    for seq in args.seqs:
        for kind in args.kinds:
            src = os.path.join(args.out, "attn-%s-t%d.mlir" % (kind, seq))
            with open(src, "w") as f:
                f.write(module_text(kind, seq))
            out = os.path.join(args.out, "attn-%s-t%d.fly" % (kind, seq))
            cmd = [compiler, src, "--target", "cuda", "--dtype", "f16", "-o", out,
                   "--quiet"]
            print("+", shlex.join(cmd), file=sys.stderr, flush=True)
            subprocess.run(cmd, check=True)
            weights = os.path.join(out, "weights.safetensors")
            if os.path.exists(weights):
                os.remove(weights)


def run_fly(args, seq, kind):
    path = os.path.join(args.artifacts, "attn-%s-t%d.fly" % (kind, seq))
    if not os.path.isdir(path):
        return None, "not compiled"
    # The modules have no weights (the features are an input): random
    # weights skip the weights file the compile step dropped.
    cmd = [args.fly_run, path, "--weights", "random", "--iters", str(args.iters),
           "--warmup", "3", "--quiet"]
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    m = MEDIAN.search(res.stdout)
    if res.returncode != 0 or not m:
        return None, res.stdout.strip().splitlines()[-1] if res.stdout.strip() else "failed"
    return float(m.group(1)), ""


def run_peers(args, seq):
    import torch
    import torch.nn.functional as F
    from torch.nn.attention.flex_attention import create_block_mask, flex_attention

    flex = torch.compile(flex_attention)
    q, k, v = (torch.randn(1, HEADS, seq, HEAD_DIM, device="cuda", dtype=torch.float16)
               for _ in range(3))
    half = WINDOW // 2
    mask = create_block_mask(lambda b, h, qi, ki: (ki >= qi - half) & (ki < qi + half),
                             None, None, seq, seq)

    def bench(fn):
        with torch.inference_mode():
            for _ in range(3):
                fn()
            torch.cuda.synchronize()
            times = []
            for _ in range(args.iters):
                s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                s.record()
                fn()
                e.record()
                torch.cuda.synchronize()
                times.append(s.elapsed_time(e))
        times.sort()
        return times[len(times) // 2]

    out = {"sdpa-dense": bench(lambda: F.scaled_dot_product_attention(q, k, v)),
           "flex-local256": bench(lambda: flex(q, k, v, block_mask=mask))}
    del q, k, v
    torch.cuda.empty_cache()
    return out


def fmt(x):
    return "%.3f" % x if x is not None else "failed"


def ratio(a, b):
    return "%.2f" % (a / b) if a is not None and b else "-"


def run_all(args):
    import torch
    print("# %s, torch %s, %s" % (torch.cuda.get_device_name(), torch.__version__,
                                  datetime.datetime.now().isoformat(timespec="minutes")))
    print("# " + shlex.join(sys.argv))
    rows, notes = [], []
    for seq in args.seqs:
        peers = run_peers(args, seq)
        fly = {}
        for kind in args.kinds:
            fly[kind], err = run_fly(args, seq, kind)
            if err:
                notes.append("T=%d %s: %s" % (seq, kind, err))
        rows.append((seq, peers, fly))
        for name, ms in list(peers.items()) + [("fly-" + k, v) for k, v in fly.items()]:
            print("%d,%s,%s" % (seq, name, fmt(ms)), file=sys.stderr, flush=True)
    print("| T | sdpa-dense | flex-local256 | fly dense | fly local256 | fly scatterbrain "
          "| local/flex | scatterbrain/flex | sdpa/scatterbrain |")
    print("|---|---|---|---|---|---|---|---|---|")
    for seq, peers, fly in rows:
        print("| %d | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            seq, fmt(peers["sdpa-dense"]), fmt(peers["flex-local256"]),
            fmt(fly.get("dense")), fmt(fly.get("local256")), fmt(fly.get("scatterbrain")),
            ratio(fly.get("local256"), peers["flex-local256"]),
            ratio(fly.get("scatterbrain"), peers["flex-local256"]),
            ratio(peers["sdpa-dense"], fly.get("scatterbrain"))))
    for n in notes:
        print("- " + n)
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["seq", "impl", "median_ms"])
            for seq, peers, fly in rows:
                for name, ms in peers.items():
                    w.writerow([seq, name, ms])
                for kind, ms in fly.items():
                    w.writerow([seq, "fly-" + kind, "" if ms is None else ms])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    c = sub.add_parser("compile")
    c.add_argument("--build", default="build")
    c.add_argument("--out", required=True)
    r = sub.add_parser("run")
    r.add_argument("--fly-run", required=True)
    r.add_argument("--artifacts", required=True)
    r.add_argument("--iters", type=int, default=20)
    r.add_argument("--csv")
    for p in (c, r):
        p.add_argument("--seqs", default="4096,16384,65536")
        p.add_argument("--kinds", default=",".join(KINDS))
    args = ap.parse_args()
    try:
        args.seqs = [int(s) for s in args.seqs.split(",")]
    except ValueError:
        ap.error("--seqs must be comma-separated integers")
    args.kinds = args.kinds.split(",")
    if any(k not in KINDS for k in args.kinds):
        ap.error("--kinds must be a subset of " + ",".join(KINDS))
    if args.command == "compile":
        compile_all(args)
    else:
        run_all(args)


if __name__ == "__main__":
    main()
