#!/usr/bin/env python3
"""The research benchmark as one driver (issue #6): GPT-2 small with MLP variants.

The structured-matrix papers time GPT-2 with its MLP replaced by Monarch,
low-rank, SS1 sketch and Pixelfly matrices, at several batch sizes. This
driver does the same with fly: it compiles GPT-2 small (12 layers, d 768,
12 heads; random weights from tools/bench/configs/gpt2/config.json) once per
variant and batch, times each artifact with fly-run (WARMUP untimed calls,
then ITERS timed calls, default 25), and writes ONE CSV:

  variant,structure,target,part,batch,seq,iters,avgTime_ms,medianTime_ms,
  minTime_ms,vs_dense

vs_dense is avgTime / avgTime of the dense model at the same batch (same
run, same target). Variants (fly-compile --structure, MLP layers only):

  dense     no rewrite
  monarch4  mlp=monarch:4              (4 diagonal blocks)
  lowrank8  mlp=lowrank                (rank = in/8: reduction 8)
  sketch4   mlp=sketch:4               (SS1, input reduction 4)
  pixelfly  mlp=pixelfly               (block-sparse butterfly + low rank)

The weights are random (fly-run --weights random), so every variant uses
init=random: projecting random dense weights would only cost compile time.

GPU artifacts are compiled here and run on the GPU machine (no LLVM there),
so the work splits in two steps; on the CPU `all` does both:

  tools/bench/research_mlp.py compile --target cuda --out /tmp/research-cuda
  tools/bench/research_mlp.py run --artifacts DIR --fly-run build/bin/fly-run --csv out.csv
  tools/bench/research_mlp.py all --target cpu --seq 128 --csv out.csv

--part body (default) times the 12 blocks + final LayerNorm on [batch, seq,
768] hidden states, as torch_peer_bench.py's gpt2-body does; --part full
adds the embeddings and the LM head (on the GPU the 50257-wide LM head is not
a multiple of 64 and runs as a generic kernel, which dominates the time).
"""

import argparse
import csv
import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = os.path.join(ROOT, "tools", "bench", "configs", "gpt2")

VARIANTS = {
    "dense": "",
    "monarch4": "mlp=monarch:4:init=random",
    "lowrank8": "mlp=lowrank:init=random",
    "sketch4": "mlp=sketch:4:init=random",
    "pixelfly": "mlp=pixelfly:init=random",
}
FIELDS = ["variant", "structure", "target", "part", "batch", "seq", "iters",
          "avgTime_ms", "medianTime_ms", "minTime_ms", "vs_dense", "note"]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def artifact_name(variant, batch):
    return "gpt2-%s-b%d.fly" % (variant, batch)


def compile_all(args):
    """Compiles every variant x batch into args.out; writes plan.json there."""
    compiler = os.path.join(args.build, "bin", "fly-compile")
    if not os.access(compiler, os.X_OK):
        sys.exit("research_mlp.py: %s not found (build fly first: tools/setup.sh)" % compiler)
    os.makedirs(args.out, exist_ok=True)
    plan = {"target": args.target, "part": args.part, "seq": args.seq,
            "dtype": args.dtype, "artifacts": []}
    jobs = [(v, b) for v in args.variants for b in args.batches]
    for n, (variant, batch) in enumerate(jobs, 1):
        out = os.path.join(args.out, artifact_name(variant, batch))
        cmd = [compiler, CONFIG, "--weights", "random", "--part", args.part,
               "--batch", str(batch), "--seq", str(args.seq),
               "--target", args.target, "-o", out, "--quiet"]
        if args.target == "cuda":
            cmd += ["--dtype", args.dtype]
        if VARIANTS[variant]:
            cmd += ["--structure", VARIANTS[variant]]
        log("[%d/%d] compile %s batch %d: %s" % (n, len(jobs), variant, batch,
                                                 shlex.join(cmd)))
        subprocess.run(cmd, check=True)
        # Random weights at run time: the weights file is not needed.
        weights = os.path.join(out, "weights.safetensors")
        if os.path.exists(weights):
            os.remove(weights)
        plan["artifacts"].append({"variant": variant, "structure": VARIANTS[variant],
                                  "batch": batch, "dir": os.path.basename(out)})
    with open(os.path.join(args.out, "plan.json"), "w") as f:
        json.dump(plan, f, indent=1)
    log("compiled %d artifacts into %s" % (len(jobs), args.out))


def run_all(args):
    """Times every artifact of plan.json with fly-run; writes the CSV."""
    with open(os.path.join(args.artifacts, "plan.json")) as f:
        plan = json.load(f)
    rows = []
    wanted = getattr(args, "only", None)
    if wanted:
        plan["artifacts"] = [a for a in plan["artifacts"]
                             if "%s:%d" % (a["variant"], a["batch"]) in wanted
                             or a["variant"] in wanted]
    for n, a in enumerate(plan["artifacts"], 1):
        with tempfile.TemporaryDirectory() as tmp:
            raw = os.path.join(tmp, "run.csv")
            cmd = [args.fly_run, os.path.join(args.artifacts, a["dir"]),
                   "--weights", "random", "--iters", str(args.iters),
                   "--warmup", str(args.warmup), "--csv", raw, "--quiet"]
            log("[%d/%d] run %s batch %d" % (n, len(plan["artifacts"]),
                                              a["variant"], a["batch"]))
            res = subprocess.run(cmd, stderr=subprocess.PIPE, text=True)
            row = {"variant": a["variant"], "structure": a["structure"] or "dense",
                   "target": plan["target"], "part": plan["part"],
                   "batch": a["batch"], "seq": plan["seq"], "iters": args.iters,
                   "avgTime_ms": None, "medianTime_ms": None, "minTime_ms": None,
                   "note": ""}
            if res.returncode != 0:
                # Recorded, not fatal: e.g. a variant that does not fit in
                # device memory at the largest batch.
                lines = res.stderr.strip().splitlines()
                row["note"] = "failed: " + (lines[-1] if lines else "exit %d" % res.returncode)
                log(row["note"])
            else:
                with open(raw) as f:
                    (r,) = list(csv.DictReader(f))
                row.update(avgTime_ms=float(r["avgTime"]),
                           medianTime_ms=float(r["medianTime"]),
                           minTime_ms=float(r["minTime"]))
        rows.append(row)
    dense = {r["batch"]: r["avgTime_ms"] for r in rows if r["variant"] == "dense"}
    for r in rows:
        r["vs_dense"] = ("%.3f" % (r["avgTime_ms"] / dense[r["batch"]])
                         if dense.get(r["batch"]) and r["avgTime_ms"] else "")
    with open(args.csv, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        for r in rows:
            w.writerow({k: ("%.4f" % v if isinstance(v, float)
                            else "" if v is None else v) for k, v in r.items()})
    print("# fly research benchmark: GPT-2 small %s, MLP variants (%s, %s)"
          % (plan["part"], plan["target"], datetime.date.today().isoformat()))
    print("# machine: %s; command: %s" % (platform.node() or "?",
                                          shlex.join(sys.argv)))
    print("| variant | " + " | ".join("batch %d avg ms (vs dense)" % b
                                      for b in sorted({r["batch"] for r in rows})) + " |")
    print("|---|" + "---|" * len({r["batch"] for r in rows}))
    for v in dict.fromkeys(r["variant"] for r in rows):
        cells = []
        for b in sorted({r["batch"] for r in rows}):
            m = [r for r in rows if r["variant"] == v and r["batch"] == b]
            cells.append("-" if not m else "failed" if m[0]["avgTime_ms"] is None
                         else "%.3f (%s)" % (m[0]["avgTime_ms"], m[0]["vs_dense"] or "-"))
        print("| %s | %s |" % (v, " | ".join(cells)))
    log("wrote %s" % args.csv)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                epilog=__doc__.split("\n\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)

    def compile_options(sp):
        sp.add_argument("--target", choices=["cpu", "cuda"], required=True)
        sp.add_argument("--build", default=os.path.join(ROOT, "build"),
                        help="fly build directory (default ./build)")
        sp.add_argument("--batches", default="8,16,32",
                        help="comma-separated batch sizes (default 8,16,32)")
        sp.add_argument("--seq", type=int, default=1024,
                        help="sequence length (default 1024)")
        sp.add_argument("--part", choices=["body", "full"], default="body")
        sp.add_argument("--dtype", choices=["f16", "bf16", "f32"], default="f16",
                        help="cuda storage type (default f16; cpu is f32)")
        sp.add_argument("--variants", default=",".join(VARIANTS),
                        help="comma-separated subset of " + ", ".join(VARIANTS))

    def run_options(sp):
        sp.add_argument("--fly-run", default=os.path.join(ROOT, "build", "bin", "fly-run"))
        sp.add_argument("--csv", required=True, help="output CSV")
        sp.add_argument("--iters", type=int, default=25, help="timed calls (default 25)")
        sp.add_argument("--warmup", type=int, default=3, help="untimed calls (default 3)")

    c = sub.add_parser("compile", help="compile the artifacts (CPU machine)")
    compile_options(c)
    c.add_argument("--out", required=True, help="artifact directory")
    r = sub.add_parser("run", help="time compiled artifacts and write the CSV")
    r.add_argument("--artifacts", required=True, help="directory written by compile")
    r.add_argument("--only", type=lambda t: t.split(","),
                   help="comma-separated VARIANT or VARIANT:BATCH entries to run "
                        "(default: all of the plan)")
    run_options(r)
    a = sub.add_parser("all", help="compile and run (CPU target, or a GPU machine with LLVM)")
    compile_options(a)
    run_options(a)
    a.add_argument("--out", help="artifact directory (default: a temporary one)")
    args = p.parse_args(argv)

    if hasattr(args, "batches"):
        try:
            args.batches = [int(b) for b in args.batches.split(",")]
        except ValueError:
            p.error("--batches must be comma-separated integers")
        if any(b < 1 for b in args.batches):
            p.error("--batches must be >= 1")
        args.variants = args.variants.split(",")
        unknown = [v for v in args.variants if v not in VARIANTS]
        if unknown:
            p.error("unknown variant(s) %s (known: %s)" % (", ".join(unknown),
                                                          ", ".join(VARIANTS)))
        if args.target == "cpu" and args.dtype != "f16":
            p.error("--dtype applies to --target cuda only")
        if args.target == "cpu":
            args.dtype = "f32"
    if getattr(args, "iters", 1) < 1:
        p.error("--iters must be >= 1")

    if args.command == "compile":
        compile_all(args)
    elif args.command == "run":
        run_all(args)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            args.out = args.out or tmp
            compile_all(args)
            args.artifacts = args.out
            run_all(args)


if __name__ == "__main__":
    main(sys.argv[1:])
