#!/usr/bin/env python3
"""CPU benchmark (issue #3): fly vs PyTorch eager on GPT-2 small dimensions.

One run compiles a GPT-2-small-shaped model (random weights, from a config.json
alone) with fly-compile, times it with fly-run, times transformers'
GPT2LMHeadModel (PyTorch CPU eager, fp32, no_grad) on the same shapes, and
prints a markdown table with the machine, the date and the exact command.

fly and torch run in separate processes, one after the other (their thread
pools would fight otherwise), alternating per repeat: fly, torch, fly, torch.
Each process does WARMUP untimed and ITERS timed calls and reports its median
and min; over repeats the table shows the median of the medians and the min
of the mins.

Needs a build (ninja -C build fly-compile fly-run) and the peers
(tools/bench/install-peers.sh). Usage:

  tools/bench/cpu_gpt2.py                       # 12 layers, batch 1 and 8
  tools/bench/cpu_gpt2.py --layers 2 --iters 3  # quick
  tools/bench/cpu_gpt2.py --mlp-only            # just c_fc + GELU + c_proj
  tools/bench/cpu_gpt2.py --record              # also append to docs/benchmarks.md
"""

import argparse
import csv
import datetime
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECTION = "## CPU: GPT-2 small dims (issue #3)"


def parse_args(argv):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--layers", type=int, default=12, help="n_layer (default 12)")
    p.add_argument("--vocab", type=int, default=50257, help="vocab_size (default 50257)")
    p.add_argument("--embd", type=int, default=768, help="n_embd (default 768)")
    p.add_argument("--heads", type=int, default=12, help="n_head (default 12)")
    p.add_argument("--positions", type=int, default=1024, help="n_positions (default 1024)")
    p.add_argument("--seq", type=int, default=128, help="sequence length (default 128)")
    p.add_argument("--batches", default="1,8", help="comma-separated batch sizes (default 1,8)")
    p.add_argument("--iters", type=int, default=10, help="timed calls per process (default 10)")
    p.add_argument("--warmup", type=int, default=2, help="untimed calls per process (default 2)")
    p.add_argument("--repeats", type=int, default=1,
                   help="alternating fly/torch process pairs per batch (default 1)")
    p.add_argument("--threads", type=int, default=2,
                   help="threads for both (torch.set_num_threads, OMP/MKL_NUM_THREADS; default 2)")
    p.add_argument("--seed", type=int, default=0, help="seed of weights and inputs")
    p.add_argument("--mlp-only", action="store_true",
                   help="time only the MLP block (c_fc + GELU(tanh) + c_proj) at [batch*seq, embd]")
    p.add_argument("--only", choices=["fly", "torch"], help="run one side only")
    p.add_argument("--structure", default="",
                   help="passed to fly-compile --structure (fly side only)")
    p.add_argument("--build-dir", default=os.path.join(ROOT, "build"),
                   help="fly build directory (default ./build)")
    p.add_argument("--workdir", help="where configs and artifacts go (default: a temp dir, removed)")
    p.add_argument("--record", action="store_true",
                   help="append the result to docs/benchmarks.md under '%s'" % SECTION)
    p.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    return p.parse_args(argv)


# ---------------------------------------------------------------- torch side

def torch_worker(a):
    """Runs in its own process; prints one JSON line."""
    import torch
    import transformers
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    cfg = GPT2Config(vocab_size=a.vocab, n_positions=a.positions, n_embd=a.embd,
                     n_layer=a.layers, n_head=a.heads,
                     bos_token_id=min(50256, a.vocab - 1), eos_token_id=min(50256, a.vocab - 1))
    b, s = a.batch, a.seq
    if a.mlp_only:
        from transformers.models.gpt2.modeling_gpt2 import GPT2MLP
        model = GPT2MLP(4 * a.embd, cfg).eval()
        x = torch.rand(b, s, a.embd) * 2 - 1

        def call():
            return model(x)
    else:
        model = GPT2LMHeadModel(cfg).eval()
        x = torch.randint(0, a.vocab, (b, s))

        def call():
            return model(input_ids=x, use_cache=False).logits

    times = []
    with torch.no_grad():
        for _ in range(a.warmup):
            call()
        for _ in range(a.iters):
            t0 = time.perf_counter()
            call()
            times.append((time.perf_counter() - t0) * 1e3)
    show = torch.__config__.show().splitlines()
    blas = [l.strip(" -") for l in show
            if "Math Kernel Library" in l or "OpenBLAS" in l or "CPU capability" in l]
    print(json.dumps({
        "median": statistics.median(times), "min": min(times),
        "avg": statistics.fmean(times),
        "torch": torch.__version__, "transformers": transformers.__version__,
        "threads": torch.get_num_threads(), "blas": blas,
        "attn": getattr(getattr(model, "config", cfg), "_attn_implementation", None),
    }))


def run_torch(a, batch, env):
    cmd = [sys.executable, os.path.abspath(__file__), "--torch-worker",
           "--batch", str(batch), "--seq", str(a.seq), "--layers", str(a.layers),
           "--vocab", str(a.vocab), "--embd", str(a.embd), "--heads", str(a.heads),
           "--positions", str(a.positions), "--iters", str(a.iters),
           "--warmup", str(a.warmup), "--threads", str(a.threads),
           "--seed", str(a.seed)] + (["--mlp-only"] if a.mlp_only else [])
    out = subprocess.run(cmd, env=env, check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


# ------------------------------------------------------------------ fly side

MLP_TEMPLATE = """\
// MLP block of GPT-2 (c_fc + gelu_new + c_proj) on [{m}, {d}]; the weights are
// arguments, so fly-run fills them (and x) with random values.
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
func.func @forward(%x: tensor<{m}x{d}xf32>, %w1: tensor<{d}x{f}xf32>, %b1: tensor<{f}xf32>,
                   %w2: tensor<{f}x{d}xf32>, %b2: tensor<{d}xf32>) -> tensor<{m}x{d}xf32> {{
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<{m}x{f}xf32>
  %z1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<{m}x{f}xf32>) -> tensor<{m}x{f}xf32>
  %fc = linalg.matmul ins(%x, %w1 : tensor<{m}x{d}xf32>, tensor<{d}x{f}xf32>)
                      outs(%z1 : tensor<{m}x{f}xf32>) -> tensor<{m}x{f}xf32>
  %e2 = tensor.empty() : tensor<{m}x{f}xf32>
  %act = linalg.generic {{indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}}
      ins(%fc, %b1 : tensor<{m}x{f}xf32>, tensor<{f}xf32>) outs(%e2 : tensor<{m}x{f}xf32>) {{
  ^bb0(%a: f32, %b: f32, %o: f32):
    %v = arith.addf %a, %b : f32
    %v2 = arith.mulf %v, %v : f32
    %v3 = arith.mulf %v2, %v : f32
    %k0 = arith.constant 4.471500e-02 : f32
    %t0 = arith.mulf %v3, %k0 : f32
    %t1 = arith.addf %v, %t0 : f32
    %k1 = arith.constant 0.797884583 : f32
    %t2 = arith.mulf %t1, %k1 : f32
    %t3 = math.tanh %t2 : f32
    %k2 = arith.constant 1.0 : f32
    %t4 = arith.addf %t3, %k2 : f32
    %k3 = arith.constant 0.5 : f32
    %t5 = arith.mulf %v, %k3 : f32
    %t6 = arith.mulf %t5, %t4 : f32
    linalg.yield %t6 : f32
  }} -> tensor<{m}x{f}xf32>
  %e3 = tensor.empty() : tensor<{m}x{d}xf32>
  %z3 = linalg.fill ins(%zero : f32) outs(%e3 : tensor<{m}x{d}xf32>) -> tensor<{m}x{d}xf32>
  %proj = linalg.matmul ins(%act, %w2 : tensor<{m}x{f}xf32>, tensor<{f}x{d}xf32>)
                        outs(%z3 : tensor<{m}x{d}xf32>) -> tensor<{m}x{d}xf32>
  %e4 = tensor.empty() : tensor<{m}x{d}xf32>
  %r = linalg.generic {{indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}}
      ins(%proj, %b2 : tensor<{m}x{d}xf32>, tensor<{d}xf32>) outs(%e4 : tensor<{m}x{d}xf32>) {{
  ^bb0(%a: f32, %b: f32, %o: f32):
    %v = arith.addf %a, %b : f32
    linalg.yield %v : f32
  }} -> tensor<{m}x{d}xf32>
  return %r : tensor<{m}x{d}xf32>
}}
"""


def fly_supports_random_weights(compile_bin):
    h = subprocess.run([compile_bin, "--help"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True).stdout
    return "--weights" in h


def write_random_safetensors(path, a):
    """Fallback for a fly-compile without --weights random: a random
    model.safetensors with the names the GPT-2 importer reads."""
    import numpy as np
    d, f, v = a.embd, 4 * a.embd, a.vocab
    shapes = [("transformer.wte.weight", (v, d)), ("transformer.wpe.weight", (a.positions, d))]
    for i in range(a.layers):
        p = "transformer.h.%d." % i
        shapes += [(p + "ln_1.weight", (d,)), (p + "ln_1.bias", (d,)),
                   (p + "attn.c_attn.weight", (d, 3 * d)), (p + "attn.c_attn.bias", (3 * d,)),
                   (p + "attn.c_proj.weight", (d, d)), (p + "attn.c_proj.bias", (d,)),
                   (p + "ln_2.weight", (d,)), (p + "ln_2.bias", (d,)),
                   (p + "mlp.c_fc.weight", (d, f)), (p + "mlp.c_fc.bias", (f,)),
                   (p + "mlp.c_proj.weight", (f, d)), (p + "mlp.c_proj.bias", (d,))]
    shapes += [("transformer.ln_f.weight", (d,)), ("transformer.ln_f.bias", (d,))]
    header, off = {}, 0
    for name, shape in shapes:
        n = 4 * int(np.prod(shape))
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [off, off + n]}
        off += n
    hb = json.dumps(header).encode()
    hb += b" " * (-len(hb) % 8)
    rng = np.random.default_rng(a.seed)
    with open(path, "wb") as fh:
        fh.write(len(hb).to_bytes(8, "little") + hb)
        for name, shape in shapes:
            x = rng.standard_normal(shape, dtype=np.float32) * np.float32(0.02)
            if ".ln_" in name and name.endswith(".weight"):
                x += np.float32(1.0)
            fh.write(x.tobytes())


def prepare_fly(a, batch, work, bindir, log):
    """Writes the model (config dir or .mlir), compiles it; returns
    (artifact dir, compile seconds, pipeline name)."""
    compile_bin = os.path.join(bindir, "fly-compile")
    out = os.path.join(work, "b%d.fly" % batch)
    if a.mlp_only:
        src = os.path.join(work, "mlp_b%d.mlir" % batch)
        with open(src, "w") as fh:
            fh.write(MLP_TEMPLATE.format(m=batch * a.seq, d=a.embd, f=4 * a.embd))
        cmd = [compile_bin, src, "-o", out]
    else:
        src = os.path.join(work, "gpt2-config")
        os.makedirs(src, exist_ok=True)
        with open(os.path.join(src, "config.json"), "w") as fh:
            json.dump({"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2",
                       "vocab_size": a.vocab, "n_positions": a.positions, "n_embd": a.embd,
                       "n_layer": a.layers, "n_head": a.heads,
                       "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5},
                      fh, indent=2)
        cmd = [compile_bin, src, "--batch", str(batch), "--seq", str(a.seq), "-o", out]
        if fly_supports_random_weights(compile_bin):
            cmd += ["--weights", "random", "--seed", str(a.seed)]
        elif not os.path.exists(os.path.join(src, "model.safetensors")):
            log("fly-compile has no --weights: writing a random model.safetensors")
            write_random_safetensors(os.path.join(src, "model.safetensors"), a)
    if a.structure:
        cmd += ["--structure", a.structure]
    shutil.rmtree(out, ignore_errors=True)
    log("$ " + shlex.join(cmd))
    t0 = time.perf_counter()
    subprocess.run(cmd + ["--quiet"], check=True)
    secs = time.perf_counter() - t0
    with open(os.path.join(out, "manifest.json")) as fh:
        pipeline = json.load(fh).get("options", {}).get("pipeline", "?")
    return out, secs, pipeline


def run_fly(a, artifact, bindir, env, work):
    csv_path = os.path.join(work, "fly.csv")
    if os.path.exists(csv_path):
        os.remove(csv_path)
    cmd = [os.path.join(bindir, "fly-run"), artifact, "--iters", str(a.iters),
           "--warmup", str(a.warmup), "--seed", str(a.seed), "--quiet", "--csv", csv_path]
    if not a.mlp_only:
        cmd += ["--weights", "random"]
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    with open(csv_path) as fh:
        row = list(csv.DictReader(fh))[-1]
    return {"median": float(row["medianTime"]), "min": float(row["minTime"]),
            "avg": float(row["avgTime"])}


# -------------------------------------------------------------------- report

def machine():
    model, cpus = platform.processor() or "?", os.cpu_count()
    try:
        out = subprocess.run(["lscpu"], stdout=subprocess.PIPE, text=True).stdout
        info = dict(l.split(":", 1) for l in out.splitlines() if ":" in l)
        info = {k.strip(): v.strip() for k, v in info.items()}
        model = info.get("Model name", model)
        cpus = info.get("CPU(s)", cpus)
        if info.get("Hypervisor vendor"):
            model += " (%s VM)" % info["Hypervisor vendor"]
    except OSError:
        pass
    return "%s, %s CPUs" % (model, cpus)


def git_rev():
    try:
        rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "-uno"],
                               stdout=subprocess.PIPE, text=True).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except OSError:
        return "?"


def fmt(x):
    return "—" if x is None else ("%.1f" % x if x >= 10 else "%.2f" % x)


def report(a, rows, meta, command):
    if a.mlp_only:
        name = "GPT-2 MLP (%d→%d→%d)" % (a.embd, 4 * a.embd, a.embd)
    elif (a.layers, a.embd, a.heads, a.vocab) == (12, 768, 12, 50257):
        name = "GPT-2 small dims"
    else:
        name = "GPT-2 L%d d%d h%d V%d" % (a.layers, a.embd, a.heads, a.vocab)
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = ["### %s, %s" % (name, date), "",
             "- machine: %s" % machine(),
             "- command: `%s`" % command,
             "- fly: commit %s, pipeline %s%s" % (
                 meta.get("rev"), meta.get("pipeline", "—"),
                 ", structure %s" % a.structure if a.structure else ""),
             ]
    if meta.get("torch"):
        t = meta["torch"]
        attn = ", attention %s" % t["attn"] if t.get("attn") else ""
        lines.append("- torch %s (eager, fp32, no_grad%s), transformers %s; %s" % (
            t["torch"], attn, t["transformers"], "; ".join(t["blas"])))
    lines.append("- %d threads; %d warmup + %d timed calls per process, %d repeat(s) "
                 "alternating fly/torch; median of medians, min of mins" % (
                     a.threads, a.warmup, a.iters, a.repeats))
    if meta.get("compile"):
        lines.append("- fly-compile time: " + ", ".join(
            "batch %d %.1f s" % kv for kv in meta["compile"].items()))
    lines += ["",
              "| model | batch | seq | fly median ms | torch median ms | fly/torch | fly min ms | torch min ms |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        ratio = r["fly"] / r["torch"] if r["fly"] and r["torch"] else None
        lines.append("| %s | %d | %d | %s | %s | %s | %s | %s |" % (
            name, r["batch"], a.seq, fmt(r["fly"]), fmt(r["torch"]),
            "—" if ratio is None else "%.2f" % ratio, fmt(r["fly_min"]), fmt(r["torch_min"])))
    return "\n".join(lines) + "\n"


def record(text):
    path = os.path.join(ROOT, "docs", "benchmarks.md")
    with open(path) as fh:
        doc = fh.read()
    i = doc.find(SECTION)
    if i < 0:
        doc = doc.rstrip("\n") + "\n\n" + SECTION + "\n\n" + text
    else:
        j = doc.find("\n## ", i + len(SECTION))
        j = len(doc) if j < 0 else j + 1
        doc = doc[:j].rstrip("\n") + "\n\n" + text + ("\n" + doc[j:] if j < len(doc) else "")
    with open(path, "w") as fh:
        fh.write(doc)


def main(argv):
    a = parse_args(argv)
    if a.torch_worker:
        torch_worker(a)
        return 0
    log = lambda m: print("[cpu_gpt2] " + m, file=sys.stderr, flush=True)
    command = shlex.join([os.path.relpath(os.path.abspath(__file__), ROOT)] + argv)
    batches = [int(b) for b in a.batches.split(",") if b]
    bindir = os.path.join(a.build_dir, "bin")
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), MKL_NUM_THREADS=str(a.threads),
               OPENBLAS_NUM_THREADS=str(a.threads))
    work = a.workdir or tempfile.mkdtemp(prefix="fly-bench-")
    os.makedirs(work, exist_ok=True)
    meta = {"rev": git_rev(), "compile": {}}
    rows = []
    t_start = time.perf_counter()
    try:
        for b in batches:
            fly_runs, torch_runs = [], []
            artifact = None
            if a.only != "torch":
                artifact, secs, meta["pipeline"] = prepare_fly(a, b, work, bindir, log)
                meta["compile"][b] = secs
                log("compiled batch %d in %.1f s" % (b, secs))
            for rep in range(a.repeats):
                if artifact:
                    r = run_fly(a, artifact, bindir, env, work)
                    fly_runs.append(r)
                    log("batch %d repeat %d: fly median %.3f ms min %.3f ms" % (
                        b, rep + 1, r["median"], r["min"]))
                if a.only != "fly":
                    r = run_torch(a, b, env)
                    meta["torch"] = r
                    torch_runs.append(r)
                    log("batch %d repeat %d: torch median %.3f ms min %.3f ms" % (
                        b, rep + 1, r["median"], r["min"]))
            if artifact and not a.workdir:
                shutil.rmtree(artifact, ignore_errors=True)
            med = lambda runs: statistics.median(r["median"] for r in runs) if runs else None
            mn = lambda runs: min(r["min"] for r in runs) if runs else None
            rows.append({"batch": b, "fly": med(fly_runs), "torch": med(torch_runs),
                         "fly_min": mn(fly_runs), "torch_min": mn(torch_runs)})
    finally:
        if not a.workdir:
            shutil.rmtree(work, ignore_errors=True)
    text = report(a, rows, meta, command)
    print(text)
    log("total %.0f s" % (time.perf_counter() - t_start))
    if a.record:
        record(text)
        log("appended to docs/benchmarks.md")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
