#!/usr/bin/env python3
"""Compare fly's output against the HF oracle, or check regenerated weights.

  compare.py GOT.npy WANT.npy [--rtol 1e-4]
      Prints max |got-want|, max |want|, rel = max|got-want| / max|want| and the
      worst element. Exit 1 if shapes differ, anything is non-finite, or rel > rtol.

  compare.py --check-weights MODEL_DIR FIXTURE_DIR
      Recomputes the per-tensor sha256 of MODEL_DIR/model.safetensors and compares with
      FIXTURE_DIR/weights.sha256; also compares config.json (parsed) and inputs.npy
      (exactly) when both dirs have them. Exit 1 on any mismatch.

numpy only (plus the stdlib). Exit 2 on usage / unreadable-file errors.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402


def compare_arrays(got, want, rtol):
    """Returns (ok, report lines)."""
    lines = ["got:  shape %s dtype %s" % (got.shape, got.dtype),
             "want: shape %s dtype %s" % (want.shape, want.dtype)]
    if got.shape != want.shape:
        lines.append("FAIL: shape mismatch %s vs %s" % (got.shape, want.shape))
        return False, lines
    ok = True
    g = got.astype(np.float64)
    w = want.astype(np.float64)
    for label, a in (("got", g), ("want", w)):
        bad = ~np.isfinite(a)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            lines.append("FAIL: %s has %d non-finite values (first at %s = %r)" % (label, int(bad.sum()), list(idx), float(a[idx])))
            ok = False
    if not ok:
        return False, lines
    if g.size == 0:
        lines.append("empty arrays: OK")
        return True, lines
    diff = np.abs(g - w)
    max_abs = float(diff.max())
    max_want = float(np.abs(w).max())
    if max_want > 0:
        rel = max_abs / max_want
    else:
        rel = 0.0 if max_abs == 0 else float("inf")
    worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(diff)), diff.shape))
    lines.append("max abs diff:   %.6e" % max_abs)
    lines.append("max |want|:     %.6e" % max_want)
    lines.append("max rel error:  %.6e  (max|got-want| / max|want|, rtol %.1e)" % (rel, rtol))
    lines.append("worst element:  %s  got %.9g  want %.9g" % (list(worst), g[worst], w[worst]))
    if rel > rtol:
        lines.append("FAIL: max rel error %.3e > rtol %.1e" % (rel, rtol))
        return False, lines
    lines.append("OK")
    return True, lines


def read_sha_file(path):
    out = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split()
            if len(parts) != 2:
                raise ValueError("%s:%d: expected 'key sha256', got %r" % (path, n, line))
            out[parts[0]] = parts[1]
    return out


def check_weights(model_dir, fixture_dir):
    from models import tensor_sha256s

    ok = True
    got = tensor_sha256s(os.path.join(model_dir, "model.safetensors"))
    want = read_sha_file(os.path.join(fixture_dir, "weights.sha256"))
    missing = [k for k in want if k not in got]
    extra = [k for k in got if k not in want]
    differ = [k for k in want if k in got and got[k] != want[k]]
    for k in missing:
        print("MISSING in %s/model.safetensors: %s" % (model_dir, k))
    for k in extra:
        print("EXTRA in %s/model.safetensors: %s" % (model_dir, k))
    for k in differ:
        print("SHA MISMATCH %s: got %s want %s" % (k, got[k], want[k]))
    if missing or extra or differ:
        ok = False
    else:
        print("weights: %d tensors match %s/weights.sha256" % (len(want), fixture_dir))

    cm, cf = os.path.join(model_dir, "config.json"), os.path.join(fixture_dir, "config.json")
    if os.path.exists(cm) and os.path.exists(cf):
        with open(cm, encoding="utf-8") as a, open(cf, encoding="utf-8") as b:
            ja, jb = json.load(a), json.load(b)
        if ja != jb:
            keys = sorted(set(ja) | set(jb))
            for k in keys:
                if ja.get(k, "<absent>") != jb.get(k, "<absent>"):
                    print("CONFIG MISMATCH %s: model %r fixture %r" % (k, ja.get(k, "<absent>"), jb.get(k, "<absent>")))
            ok = False
        else:
            print("config.json: match")

    im, i_f = os.path.join(model_dir, "inputs.npy"), os.path.join(fixture_dir, "inputs.npy")
    if os.path.exists(im) and os.path.exists(i_f):
        a = np.load(im, allow_pickle=False)
        b = np.load(i_f, allow_pickle=False)
        if a.dtype != b.dtype or a.shape != b.shape or a.tobytes() != b.tobytes():
            print("INPUTS MISMATCH: model %s %s vs fixture %s %s" % (a.dtype, a.shape, b.dtype, b.shape))
            ok = False
        else:
            print("inputs.npy: match (%s %s)" % (a.dtype, list(a.shape)))
    print("OK" if ok else "FAIL")
    return ok


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("got", nargs="?", help="GOT.npy")
    ap.add_argument("want", nargs="?", help="WANT.npy")
    ap.add_argument("--rtol", type=float, default=1e-4)
    ap.add_argument("--check-weights", nargs=2, metavar=("MODEL_DIR", "FIXTURE_DIR"))
    args = ap.parse_args(argv)
    try:
        if args.check_weights:
            if args.got or args.want:
                ap.error("--check-weights takes no GOT/WANT arguments")
            return 0 if check_weights(*args.check_weights) else 1
        if not (args.got and args.want):
            ap.error("need GOT.npy WANT.npy (or --check-weights MODEL_DIR FIXTURE_DIR)")
        got = np.load(args.got, allow_pickle=False)
        want = np.load(args.want, allow_pickle=False)
    except (OSError, ValueError) as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    ok, lines = compare_arrays(got, want, args.rtol)
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
