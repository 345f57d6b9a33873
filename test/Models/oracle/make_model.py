#!/usr/bin/env python3
"""Write a synthetic HF checkpoint: OUTDIR/{config.json, model.safetensors, inputs.npy}.

numpy + safetensors only (this is what CI runs; no torch). Deterministic: the same
NAME and --seed always give byte-identical files.

  python3 test/Models/oracle/make_model.py tiny-gpt2 /tmp/tiny-gpt2 [--seed 0]
  python3 test/Models/oracle/make_model.py all /tmp/models      # OUTDIR/NAME for every model
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

from models import DEFAULT_SEED, MODELS, config, gen_inputs, gen_weights, param_specs  # noqa: E402


def config_json_text(name):
    return json.dumps(config(name), indent=2, sort_keys=True) + "\n"


def write_model(name, outdir, seed=DEFAULT_SEED):
    from safetensors.numpy import save_file

    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "config.json"), "w", encoding="utf-8", newline="\n") as f:
        f.write(config_json_text(name))
    weights = gen_weights(name, seed)
    specs = param_specs(name)
    assert list(weights) == [k for k, _ in specs]
    for k, shape in specs:
        assert weights[k].shape == shape and weights[k].dtype == np.float32, k
    save_file(weights, os.path.join(outdir, "model.safetensors"), metadata={"format": "pt"})
    inputs = gen_inputs(name, seed)
    np.save(os.path.join(outdir, "inputs.npy"), inputs, allow_pickle=False)
    return weights, inputs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("name", help="one of %s, or 'all'" % ", ".join(MODELS))
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = ap.parse_args(argv)
    if args.name == "all":
        jobs = [(n, os.path.join(args.outdir, n)) for n in MODELS]
    elif args.name in MODELS:
        jobs = [(args.name, args.outdir)]
    else:
        ap.error("unknown model %r (known: %s)" % (args.name, ", ".join(MODELS)))
    for name, outdir in jobs:
        write_model(name, outdir, args.seed)
        size = os.path.getsize(os.path.join(outdir, "model.safetensors"))
        print("%s: wrote %s (model.safetensors %d bytes)" % (name, outdir, size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
