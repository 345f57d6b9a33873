#!/usr/bin/env python3
"""Run HF transformers on the synthetic checkpoints and write the oracle fixtures.

Needs torch + transformers (CPU is enough); not run in CI. From the repo root:

  python3 test/Models/oracle/run_hf.py [--out test/Models/fixtures] [--models tiny-gpt2 ...]

For each model it:
  1. writes the checkpoint with make_model.write_model (config.json, model.safetensors,
     inputs.npy) into a temp dir;
  2. loads it with GPT2LMHeadModel / ViTForImageClassification.from_pretrained(
     attn_implementation="eager") in float32 eval mode on CPU and checks that the
     loaded state_dict has exactly param_specs' keys/shapes/order (plus the tied
     lm_head.weight) with bitwise-identical values;
  3. re-saves it with save_pretrained and checks the saved tensors' keys/shapes ==
     param_specs and values bitwise identical to ours;
  4. runs the forward under torch.no_grad() (twice; must be bitwise deterministic) and
     checks it against the independent float64 numpy reference (reference.py);
  5. writes OUT/NAME/{config.json, inputs.npy, logits.npy, weights.sha256, hf_versions.txt}.

Exits non-zero, after printing what differs, on any mismatch.
"""

import argparse
import glob
import json
import os
import platform
import re
import shutil
import sys
import tempfile
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

from compare import compare_arrays  # noqa: E402
from make_model import config_json_text, write_model  # noqa: E402
from models import DEFAULT_SEED, MODELS, family, param_specs, sha256_lines  # noqa: E402

DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "fixtures"))
TIED = {"lm_head.weight": "transformer.wte.weight"}  # GPT-2 only

# transformers 5.x renames some modules in memory and maps the checkpoint names on
# load (and back on save_pretrained): e.g. ViT's vit.encoder.layer.{i}.attention.
# attention.query is vit.layers.{i}.attention.q_proj in model.state_dict(). The file
# format (what param_specs describes and fly reads) is unchanged; these
# (checkpoint-name pattern, in-memory name) rewrites let us check the loaded values.
IN_MEMORY_RENAMES = [
    (r"^vit\.encoder\.layer\.(\d+)\.attention\.attention\.query\.", r"vit.layers.\1.attention.q_proj."),
    (r"^vit\.encoder\.layer\.(\d+)\.attention\.attention\.key\.", r"vit.layers.\1.attention.k_proj."),
    (r"^vit\.encoder\.layer\.(\d+)\.attention\.attention\.value\.", r"vit.layers.\1.attention.v_proj."),
    (r"^vit\.encoder\.layer\.(\d+)\.attention\.output\.dense\.", r"vit.layers.\1.attention.o_proj."),
    (r"^vit\.encoder\.layer\.(\d+)\.intermediate\.dense\.", r"vit.layers.\1.mlp.fc1."),
    (r"^vit\.encoder\.layer\.(\d+)\.output\.dense\.", r"vit.layers.\1.mlp.fc2."),
    (r"^vit\.encoder\.layer\.(\d+)\.layernorm_(before|after)\.", r"vit.layers.\1.layernorm_\2."),
]


def in_memory_name(key):
    for pat, rep in IN_MEMORY_RENAMES:
        new = re.sub(pat, rep, key)
        if new != key:
            return new
    return key


class Mismatch(Exception):
    pass


def spec_diff(want, got, what):
    """want/got: lists of (key, shape). Returns a list of human-readable differences."""
    lines = []
    wd, gd = dict(want), dict(got)
    for k, s in want:
        if k not in gd:
            lines.append("  missing in %s: %s %s" % (what, k, list(s)))
        elif tuple(gd[k]) != tuple(s):
            lines.append("  shape differs in %s: %s param_specs %s vs %s" % (what, k, list(s), list(gd[k])))
    for k, s in got:
        if k not in wd:
            lines.append("  extra in %s: %s %s" % (what, k, list(s)))
    if not lines and [k for k, _ in want] != [k for k, _ in got]:
        lines.append("  same keys but different order in %s:" % what)
        for i, ((kw, _), (kg, _)) in enumerate(zip(want, got)):
            if kw != kg:
                lines.append("    #%d param_specs %s vs %s %s" % (i, kw, what, kg))
    return lines


def bitwise_equal(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def write_fixture(name, out_dir, model_dir, inputs, logits, versions, seed):
    fx = os.path.join(out_dir, name)
    os.makedirs(fx, exist_ok=True)
    with open(os.path.join(fx, "config.json"), "w", encoding="utf-8", newline="\n") as f:
        f.write(config_json_text(name))
    np.save(os.path.join(fx, "inputs.npy"), inputs, allow_pickle=False)
    np.save(os.path.join(fx, "logits.npy"), np.ascontiguousarray(logits, dtype=np.float32), allow_pickle=False)
    keys = [k for k, _ in param_specs(name)]
    with open(os.path.join(fx, "weights.sha256"), "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(sha256_lines(os.path.join(model_dir, "model.safetensors"), keys)) + "\n")
    with open(os.path.join(fx, "hf_versions.txt"), "w", encoding="utf-8", newline="\n") as f:
        for k, v in versions:
            f.write("%s %s\n" % (k, v))
        f.write("command python3 test/Models/oracle/make_model.py %s DIR --seed %d\n" % (name, seed))
        f.write("logits shape %s mean %.6g std %.6g\n" % (list(logits.shape), float(logits.mean()), float(logits.std())))
    return fx


def run_one(name, args, torch, transformers, versions):
    from safetensors.numpy import load_file

    import reference

    errors = []
    tmp = tempfile.mkdtemp(prefix="fly-oracle-%s-" % name)
    try:
        model_dir = os.path.join(tmp, "model")
        ours, inputs = write_model(name, model_dir, args.seed)
        specs = param_specs(name)
        spec_keys = [k for k, _ in specs]

        # ---- load ---------------------------------------------------------------
        cls = transformers.GPT2LMHeadModel if family(name) == "gpt2" else transformers.ViTForImageClassification
        try:
            model, info = cls.from_pretrained(model_dir, attn_implementation="eager", output_loading_info=True)
        except TypeError:
            model, info = cls.from_pretrained(model_dir, attn_implementation="eager"), {}
        model.eval()
        for k in ("unexpected_keys", "mismatched_keys", "error_msgs"):
            if info.get(k):
                errors.append("from_pretrained %s: %s" % (k, info[k]))
        missing = [k for k in (info.get("missing_keys") or []) if k not in TIED]
        if missing:
            errors.append("from_pretrained missing_keys (left randomly initialised): %s" % missing)
        impl = getattr(model.config, "_attn_implementation", None)
        print("  attn implementation: %s" % impl)
        if impl not in (None, "eager"):
            errors.append("attention implementation is %r, wanted 'eager'" % impl)
        for pn, p in list(model.named_parameters()) + list(model.named_buffers()):
            if p.is_floating_point() and p.dtype != torch.float32:
                errors.append("%s has dtype %s, wanted float32" % (pn, p.dtype))
            if p.device.type != "cpu":
                errors.append("%s is on %s, wanted cpu" % (pn, p.device))
        if errors:
            raise Mismatch("loading failed")

        # ---- state_dict == param_specs (+ tied lm_head), values bitwise ours -----
        # Checked under the checkpoint names when they are used in memory (transformers
        # 4.x), else under the transformers-5 in-memory renames (IN_MEMORY_RENAMES).
        sd = model.state_dict()
        direct = all(k in sd for k in spec_keys)
        to_sd = {k: (k if direct else in_memory_name(k)) for k in spec_keys}
        from_sd = {v: k for k, v in to_sd.items()}
        if not direct:
            print("  note: model.state_dict() uses transformers-5 in-memory names; "
                  "compared through IN_MEMORY_RENAMES (order not checked)")
        got = []
        for k, t in sd.items():
            if k in TIED and TIED[k] in sd:
                if not torch.equal(t, sd[TIED[k]]):
                    errors.append("%s is not tied to %s (values differ)" % (k, TIED[k]))
                continue
            got.append((from_sd.get(k, k), tuple(t.shape)))
        want = specs if direct else sorted(specs)
        d = spec_diff(want, got if direct else sorted(got), "model.state_dict()")
        if d:
            errors.append("param_specs != model.state_dict():\n" + "\n".join(d))
        for k in spec_keys:
            if to_sd[k] in sd and not bitwise_equal(sd[to_sd[k]].detach().cpu().numpy(), ours[k]):
                errors.append("loaded %s (%s) differs from the value in model.safetensors" % (k, to_sd[k]))

        # ---- save_pretrained writes exactly param_specs, bitwise ours -----------
        resaved = os.path.join(tmp, "resaved")
        model.save_pretrained(resaved)
        files = sorted(glob.glob(os.path.join(resaved, "*.safetensors")))
        if not files:
            errors.append("save_pretrained wrote no .safetensors file: %s" % os.listdir(resaved))
        saved = {}
        for fpath in files:
            saved.update(load_file(fpath))
        got = [(k, tuple(v.shape)) for k, v in sorted(saved.items())]
        d = spec_diff(sorted(specs), got, "save_pretrained output")
        if d:
            errors.append("param_specs != save_pretrained output:\n" + "\n".join(d))
        for k in spec_keys:
            if k in saved and not bitwise_equal(saved[k], ours[k]):
                errors.append("save_pretrained %s (dtype %s) is not bitwise identical to ours" % (k, saved[k].dtype))
        try:
            with open(os.path.join(resaved, "config.json"), encoding="utf-8") as f:
                hf_cfg = json.load(f)
            ours_cfg = MODELS[name]["config"]
            changed = sorted(k for k in set(hf_cfg) | set(ours_cfg)
                             if hf_cfg.get(k, "<absent>") != ours_cfg.get(k, "<absent>"))
            if changed:
                print("  note: save_pretrained's config.json differs (informational): %s" % ", ".join(
                    "%s: ours %s hf %s" % (k, json.dumps(ours_cfg.get(k, "<absent>")), json.dumps(hf_cfg.get(k, "<absent>")))
                    for k in changed))
        except OSError as e:
            print("  note: could not read re-saved config.json: %s" % e)
        if errors:
            raise Mismatch("state_dict / save_pretrained check failed")
        print("  state_dict and save_pretrained (%s): %d tensors, keys/shapes == param_specs, values bitwise ours"
              % (", ".join(os.path.basename(f) for f in files), len(specs)))

        # ---- forward -------------------------------------------------------------
        x = torch.from_numpy(np.ascontiguousarray(inputs))
        outs = []
        with torch.no_grad():
            for _ in range(2):
                if family(name) == "gpt2":
                    out = model(input_ids=x, use_cache=False)
                else:
                    out = model(pixel_values=x)
                outs.append(out.logits.detach().cpu().numpy().copy())
        logits = outs[0]
        if not bitwise_equal(outs[0], outs[1]):
            errors.append("two forward passes gave different logits")
        if logits.dtype != np.float32:
            errors.append("logits dtype %s, wanted float32" % logits.dtype)
        if family(name) == "gpt2":
            want_shape = tuple(inputs.shape) + (MODELS[name]["config"]["vocab_size"],)
        else:
            want_shape = (inputs.shape[0], len(MODELS[name]["config"]["id2label"]))
        if logits.shape != want_shape:
            errors.append("logits shape %s, wanted %s" % (logits.shape, want_shape))
        if not np.isfinite(logits).all():
            errors.append("logits contain non-finite values")
        std = float(logits.std())
        print("  logits shape %s mean %.6f std %.6f" % (list(logits.shape), float(logits.mean()), std))
        if not (0.1 <= std <= 10.0):
            errors.append("logits std %.4g outside [0.1, 10]: rescale the init in models.py" % std)
        if errors:
            raise Mismatch("forward failed")

        fx = write_fixture(name, args.out, model_dir, inputs, logits, versions, args.seed)
        print("  wrote %s" % fx)

        # ---- independent numpy reference (second opinion) ------------------------
        ok, lines = compare_arrays(logits, reference.forward(name, ours, inputs), args.ref_rtol)
        print("  HF vs numpy float64 reference: " + "; ".join(lines[2:]))
        if not ok:
            msg = "HF logits disagree with reference.py (rtol %.1e)" % args.ref_rtol
            if args.no_ref_check:
                print("  WARNING: %s (ignored: --no-ref-check)" % msg)
            else:
                errors.append(msg + "; fixtures were written from HF anyway; rerun with --no-ref-check to accept")
    except Mismatch:
        pass
    except Exception:  # noqa: BLE001 -- report and go on with the next model
        errors.append("exception:\n" + traceback.format_exc())
    finally:
        if args.keep_tmp:
            print("  kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return errors


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT, help="fixtures dir (default %(default)s)")
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--ref-rtol", type=float, default=1e-4,
                    help="tolerance of the HF-vs-numpy-reference cross-check (default %(default)s)")
    ap.add_argument("--no-ref-check", action="store_true",
                    help="only warn when HF disagrees with reference.py")
    ap.add_argument("--keep-tmp", action="store_true", help="keep the temp model dirs")
    args = ap.parse_args(argv)

    try:
        import torch
        import transformers
        import safetensors
    except ImportError as e:
        print("error: run_hf.py needs torch, transformers and safetensors: %s" % e, file=sys.stderr)
        return 2
    torch.manual_seed(0)
    versions = [
        ("python", platform.python_version()),
        ("torch", torch.__version__),
        ("transformers", transformers.__version__),
        ("numpy", np.__version__),
        ("safetensors", safetensors.__version__),
        ("platform", platform.platform()),
        ("seed", args.seed),
    ]
    for k, v in versions:
        print("%s %s" % (k, v))

    failed = []
    for name in args.models:
        print("== %s" % name)
        errors = run_one(name, args, torch, transformers, versions)
        for e in errors:
            print("  ERROR: %s" % e.replace("\n", "\n  "))
        if errors:
            failed.append(name)
        else:
            print("  OK")
    if failed:
        print("FAILED: %s" % ", ".join(failed))
        return 1
    print("all OK: fixtures in %s" % args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
