#!/usr/bin/env python3
"""Synthetic ImageFolder and independent checks for fly-classify (test/Tools/fly-classify*.test).

  classify_oracle.py make MODEL_DIR OUT
      (numpy, Pillow, the oracle's models.py/reference.py) Builds a pool of 20 seeded
      32x32 images, checks that they are the ones HF transformers classified
      (hf_predictions.json: sha256 of every image's RGB bytes, HF's logits) and that
      the float64 numpy reference (test/Models/oracle/reference.py) agrees with HF's
      argmax, then writes them as JPEG and PNG files into OUT/images/<class>/ so that
      exactly 11 of the 20 are in the folder of the class HF predicts:
        OUT/images/           the ImageFolder (10 class folders, one image nested one
                              level deeper, hidden files that must be ignored)
        OUT/labels.json       MODEL_DIR/config.json with its id2label renamed to animal
                              names whose sorted order is not the class order
        OUT/expected.json     per image: path, pool index, HF class; expected counts
        OUT/pixels.npy        f32 [20, 3, 32, 32]: (pixel / 255 - 0.5) / 0.5, pool order
      and prints the expected top-1 for --labels and for the sorted-folder convention.
      Every file decodes (with Pillow) to exactly its pool image: the PNGs are lossless
      and the JPEGs are grey 8x8-constant blocks at quality 100, which any baseline
      decoder reproduces exactly, so HF's and fly's inputs are the same pixels.

  classify_oracle.py bad OUT
      (numpy, Pillow) Writes the bad-input folders of fly-classify-errors.test.

  classify_oracle.py check OUT REPORT PREDICTIONS.csv --mapping labels|sorted
                     [--inputs SAVED.npy] [--hf] [--fly-run FLY_RUN --artifact DIR]
      (numpy) Checks fly-classify's stdout (REPORT) against its --predictions CSV:
      the rows are in torchvision's order, each class index follows the mapping, the
      correct column is predicted == class, and the per-class table and the final
      top-1 line count exactly those rows. --inputs: the saved preprocessed images
      equal pixels.npy row for row. --hf: every prediction is HF's argmax. --fly-run:
      every prediction is the argmax of fly-run's logits on the saved images (in
      batches of the artifact's size, padded with zeros as fly-classify pads).

  classify_oracle.py hf-fixture MODEL_DIR FIXTURE.json
      (torch + transformers; not run by the tests) Classifies the pool with
      ViTForImageClassification (eager attention, float32, CPU) and writes the
      fixture. Made with: python3 classify_oracle.py hf-fixture $T/model
      hf_predictions.json after make_model.py tiny-vit $T/model.

Exits 1 with a message on any mismatch.
"""

import argparse
import csv
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ORACLE = os.path.normpath(os.path.join(HERE, "..", "..", "..", "Models", "oracle"))
sys.path.insert(0, ORACLE)

import numpy as np  # noqa: E402

FIXTURE = os.path.join(HERE, "hf_predictions.json")
SIZE = 32
NUM_CLASSES = 10
# Pool slot kinds, in pool order: (kind, file name suffix).
SLOTS = ([("rgb", ".png")] * 8 + [("grey", ".png")] * 2 + [("rgba", ".png")] * 2 +
         [("jpeg-grey", ".jpg"), ("jpeg-grey", ".JPEG"), ("jpeg-grey", ".jpeg"), ("jpeg-grey", ".JPG")] +
         [("jpeg-rgb", ".jpg"), ("jpeg-rgb", ".jpeg"), ("jpeg-rgb", ".jpg"), ("jpeg-rgb", ".jpeg")])
# A candidate image is kept only if the reference's top two logits differ by this
# much, so that fly's float32 logits (within ~1e-4 of HF's) have the same argmax.
MIN_MARGIN = 0.05
# Pool images put in a folder other than HF's class: 9 of 20, PNG and JPEG alike.
WRONG = (1, 3, 6, 8, 10, 13, 15, 17, 18)
# id2label of labels.json: class i is NAMES[i]; sorted, the folders are in another order.
NAMES = ["owl", "bee", "yak", "ant", "elk", "cat", "dog", "fox", "gnu", "hen"]
# Pool image placed one folder deeper (torchvision walks class folders recursively).
NESTED = 5


class CheckError(Exception):
    pass


def fail(message):
    raise CheckError(message)


# --------------------------------------------------------------------------- pool


def _smooth(rng, channels):
    """Low-frequency pattern (three random plane waves per channel) plus mild noise."""
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64) / SIZE
    out = np.empty((SIZE, SIZE, channels))
    for c in range(channels):
        v = np.zeros((SIZE, SIZE))
        for _ in range(3):
            fx, fy = rng.uniform(-3, 3, size=2)
            v += rng.uniform(0.3, 1.0) * np.sin(2 * np.pi * (fx * x + fy * y) + rng.uniform(0, 2 * np.pi))
        v = (v - v.min()) / max(v.max() - v.min(), 1e-9)
        out[..., c] = rng.uniform(0, 80) + v * rng.uniform(120, 175) + rng.normal(0, 6, (SIZE, SIZE))
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _blocks(rng):
    """Grey 8x8-constant blocks: JPEG at quality 100 stores them exactly."""
    levels = rng.integers(0, 256, size=(SIZE // 8, SIZE // 8), dtype=np.uint8)
    return np.repeat(np.repeat(levels, 8, axis=0), 8, axis=1)


def candidate(slot, k):
    """(RGB uint8 [32, 32, 3], extra) of candidate k for pool slot `slot`; extra is the
    alpha plane for "rgba" slots."""
    kind = SLOTS[slot][0]
    rng = np.random.default_rng([20250, slot, k])
    if kind == "rgb":
        return _smooth(rng, 3), None
    if kind == "grey":
        return np.repeat(_smooth(rng, 1), 3, axis=2), None
    if kind == "rgba":
        rgb = _smooth(rng, 3)
        return rgb, rng.integers(0, 256, size=(SIZE, SIZE), dtype=np.uint8)
    return np.repeat(_blocks(rng)[..., None], 3, axis=2), None


def normalise(rgb):
    """HF ViT's default preprocessing, computed as fly-classify does: in float64, once
    rounded to float32. [N, H, W, 3] uint8 -> [N, 3, H, W] float32."""
    return ((rgb.astype(np.float64) / 255.0 - 0.5) / 0.5).astype(np.float32).transpose(0, 3, 1, 2)


def sha256(rgb):
    return hashlib.sha256(np.ascontiguousarray(rgb).tobytes()).hexdigest()


def build_pool():
    """[(slot kind, suffix, rgb, alpha, candidate index, reference logits)] for every slot."""
    from models import gen_weights
    from reference import forward

    weights = gen_weights("tiny-vit")
    pool = []
    for slot, (kind, suffix) in enumerate(SLOTS):
        for k in range(100):
            rgb, alpha = candidate(slot, k)
            logits = forward("tiny-vit", weights, normalise(rgb[None]))[0]
            top = np.sort(logits)
            if top[-1] - top[-2] >= MIN_MARGIN:
                pool.append((kind, suffix, rgb, alpha, k, logits))
                break
        else:
            fail("pool slot %d: no candidate with a top-2 margin of %g" % (slot, MIN_MARGIN))
    return pool


def encode(kind, suffix, rgb, alpha):
    """The file bytes of one pool image."""
    from PIL import Image

    buf = io.BytesIO()
    if kind in ("rgb", "rgba", "grey"):
        if kind == "rgba":
            img = Image.fromarray(np.dstack([rgb, alpha]))
        elif kind == "grey":
            img = Image.fromarray(rgb[..., 0])
        else:
            img = Image.fromarray(rgb)
        img.save(buf, format="PNG")
    elif kind == "jpeg-grey":
        Image.fromarray(rgb[..., 0]).save(buf, format="JPEG", quality=100)
    else:  # jpeg-rgb: R = G = B, so Cb = Cr = 128 exactly; 4:4:4 for half of them
        Image.fromarray(rgb).save(buf, format="JPEG", quality=100,
                                         subsampling=0 if suffix == ".jpeg" else 2)
    data = buf.getvalue()
    back = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    if not np.array_equal(back, rgb):
        fail("%s%s: Pillow decodes the encoded file to different pixels (max diff %d)" % (
            kind, suffix, np.abs(back.astype(int) - rgb).max()))
    return data


# --------------------------------------------------------------------------- make


def load_fixture():
    with open(FIXTURE, encoding="utf-8") as f:
        return json.load(f)


def assign_folders(hf_classes):
    """Class folder (model class index) of each pool image: HF's class, except for
    the WRONG ones, which go elsewhere, to empty folders first."""
    folder = []
    used = set()
    for i, p in enumerate(hf_classes):
        if i not in WRONG:
            f = p
        else:
            empty = [c for c in range(NUM_CLASSES) if c not in used and c != p]
            f = empty[0] if empty else (p + 1) % NUM_CLASSES
        folder.append(f)
        used.add(f)
    if len(used) != NUM_CLASSES:
        fail("the pool leaves class folders %s empty" % sorted(set(range(NUM_CLASSES)) - used))
    return folder


def cmd_make(args):
    fixture = load_fixture()
    pool = build_pool()
    if len(fixture["images"]) != len(pool):
        fail("fixture has %d images, the pool %d" % (len(fixture["images"]), len(pool)))
    hf_classes = []
    for i, ((kind, suffix, rgb, _, k, ref), want) in enumerate(zip(pool, fixture["images"])):
        if want["candidate"] != k or want["sha256"] != sha256(rgb):
            fail("pool image %d (candidate %d, sha256 %s) is not the one HF classified (candidate %d, "
                 "sha256 %s): numpy's generators changed?" % (i, k, sha256(rgb), want["candidate"],
                                                               want["sha256"]))
        hf = np.array(want["logits"])
        if int(np.argmax(hf)) != want["argmax"] or int(np.argmax(ref)) != want["argmax"]:
            fail("pool image %d: HF's argmax %d, the numpy reference's %d" % (
                i, want["argmax"], int(np.argmax(ref))))
        if np.abs(hf - ref).max() > 1e-4 * np.abs(ref).max():
            fail("pool image %d: HF and reference logits differ by %g" % (i, np.abs(hf - ref).max()))
        hf_classes.append(want["argmax"])

    folders = assign_folders(hf_classes)
    images = os.path.join(args.out, "images")
    os.makedirs(images, exist_ok=True)
    entries = []
    for i, ((kind, suffix, rgb, alpha, _, _), f) in enumerate(zip(pool, folders)):
        d = os.path.join(images, NAMES[f])
        if i == NESTED:
            d = os.path.join(d, "more")
        os.makedirs(d, exist_ok=True)
        name = "%02d-%s%s" % (i, kind, suffix)
        with open(os.path.join(d, name), "wb") as out:
            out.write(encode(kind, suffix, rgb, alpha))
        entries.append({"path": os.path.relpath(os.path.join(d, name), images).replace(os.sep, "/"),
                        "pool": i, "hf_class": hf_classes[i], "folder_class": f})
    # Hidden entries fly-classify must skip, as torchvision's extension filter does.
    with open(os.path.join(images, NAMES[0], ".DS_Store"), "wb") as out:
        out.write(b"\0\0\0\1Bud1")
    os.makedirs(os.path.join(images, ".cache"), exist_ok=True)
    with open(os.path.join(images, ".cache", "notes.txt"), "w") as out:
        out.write("not a class\n")

    with open(os.path.join(args.model_dir, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    config["id2label"] = {str(i): n for i, n in enumerate(NAMES)}
    config["label2id"] = {n: i for i, n in enumerate(NAMES)}
    with open(os.path.join(args.out, "labels.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2, sort_keys=True)

    sorted_index = {n: i for i, n in enumerate(sorted(NAMES))}
    correct_labels = sum(e["hf_class"] == e["folder_class"] for e in entries)
    correct_sorted = sum(e["hf_class"] == sorted_index[NAMES[e["folder_class"]]] for e in entries)
    expected = {"images": entries, "names": NAMES,
                "correct": {"labels": correct_labels, "sorted": correct_sorted}}
    with open(os.path.join(args.out, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, indent=1)
    np.save(os.path.join(args.out, "pixels.npy"), normalise(np.stack([p[2] for p in pool])))
    n = len(entries)
    jpegs = sum(kind.startswith("jpeg") for kind, _ in SLOTS)
    print("pool: %d images (%d PNG, %d JPEG) in %d class folders, top-2 logit margin >= %g" % (
        n, n - jpegs, jpegs, NUM_CLASSES, MIN_MARGIN))
    print("expected top-1 with --labels: %.2f%% (%d of %d images)" % (100.0 * correct_labels / n, correct_labels, n))
    print("expected top-1 by sorted folders: %.2f%% (%d of %d images)" % (100.0 * correct_sorted / n, correct_sorted, n))
    return 0


# --------------------------------------------------------------------------- bad


def cmd_bad(args):
    from PIL import Image

    rng = np.random.default_rng(7)
    good = rng.integers(0, 256, size=(SIZE, SIZE, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(good).save(buf, format="JPEG", quality=90)
    jpeg = buf.getvalue()
    buf = io.BytesIO()
    Image.fromarray(good).save(buf, format="PNG")
    png = buf.getvalue()

    def case(name, files, dirs=()):
        root = os.path.join(args.out, name)
        for d in dirs:
            os.makedirs(os.path.join(root, d), exist_ok=True)
        for rel, data in files.items():
            os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
            with open(os.path.join(root, rel), "wb") as f:
                f.write(data)

    ok = {"LABEL_0/a.png": png, "LABEL_1/b.jpg": jpeg}
    case("corrupt-jpeg", dict(ok, **{"LABEL_1/corrupt.jpg": b"this is not a JPEG file\n"}))
    case("truncated-jpeg", dict(ok, **{"LABEL_1/cut.jpg": jpeg[: len(jpeg) // 2]}))
    flipped = bytearray(png)
    flipped[len(png) // 2] ^= 0x40
    case("corrupt-png", dict(ok, **{"LABEL_0/flipped.png": bytes(flipped)}))
    case("empty-class", ok, dirs=["LABEL_2"])
    case("empty-file", dict(ok, **{"LABEL_0/zero.png": b""}))
    case("not-an-image", dict(ok, **{"LABEL_0/notes.txt": b"labels were checked by hand\n"}))
    case("top-level-file", dict(ok, **{"README": b"an image folder\n"}))
    case("unknown-label", dict(ok, **{"cat/c.png": png}))
    case("no-classes", {}, dirs=["."])
    case("good", ok)
    return 0


# --------------------------------------------------------------------------- check

TOP1 = re.compile(r"^top-1 accuracy: (\d+\.\d\d)% \((\d+) of (\d+) images\)$", re.M)
ROW = re.compile(r"^  (\S+) +(\d+) +(\d+) +(\d+) +(\d+\.\d\d)%$", re.M)


def torchvision_order(root):
    """Paths relative to root in torchvision.datasets.ImageFolder's order (make_dataset),
    with hidden entries skipped as fly-classify does."""
    classes = sorted(e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith("."))
    out = []
    for c in classes:
        for dirpath, dirnames, files in sorted(os.walk(os.path.join(root, c), followlinks=True)):
            if any(part.startswith(".") for part in os.path.relpath(dirpath, root).split(os.sep)):
                continue
            for f in sorted(files):
                if not f.startswith("."):
                    out.append(os.path.relpath(os.path.join(dirpath, f), root).replace(os.sep, "/"))
    return classes, out


def run_fly_run(fly_run, artifact, saved, workdir):
    """Argmax of fly-run's logits for every row of `saved`, zero-padded to whole batches."""
    with open(os.path.join(artifact, "manifest.json"), encoding="utf-8") as f:
        batch = json.load(f)["inputs"][0]["shape"][0]
    preds = []
    for start in range(0, len(saved), batch):
        chunk = np.zeros((batch,) + saved.shape[1:], dtype=np.float32)
        rows = saved[start:start + batch]
        chunk[: len(rows)] = rows
        inp = os.path.join(workdir, "batch%d.npy" % start)
        out = os.path.join(workdir, "logits%d.npy" % start)
        np.save(inp, chunk)
        subprocess.run([fly_run, artifact, "--input", inp, "--output", out, "--iters", "1",
                        "--warmup", "0", "--quiet"], check=True, stdout=subprocess.DEVNULL)
        logits = np.load(out)
        if not np.isfinite(logits).all():
            fail("fly-run: non-finite logits for batch at %d" % start)
        preds += [int(i) for i in np.argmax(logits[: len(rows)], axis=1)]
    return batch, preds


def cmd_check(args):
    with open(os.path.join(args.out, "expected.json"), encoding="utf-8") as f:
        expected = json.load(f)
    by_path = {e["path"]: e for e in expected["images"]}
    names = expected["names"]
    images = os.path.join(args.out, "images")
    classes, order = torchvision_order(images)
    if args.mapping == "labels":
        index_of = {n: i for i, n in enumerate(names)}
        class_name = names
    else:
        index_of = {n: i for i, n in enumerate(classes)}
        class_name = classes

    with open(args.predictions, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    paths = [r["path"] for r in rows]
    if paths != order:
        fail("CSV rows are not in torchvision's order:\n  got  %s\n  want %s" % (paths, order))
    correct = 0
    per_class = {c: [0, 0] for c in classes}
    for r in rows:
        folder = r["path"].split("/")[0]
        want_index = index_of[folder]
        pred = int(r["predicted_index"])
        if r["class"] != folder or int(r["class_index"]) != want_index:
            fail("%s: class %s/%s, want %s/%d" % (r["path"], r["class"], r["class_index"], folder, want_index))
        if r["predicted_class"] != class_name[pred]:
            fail("%s: predicted_class %r for index %d, want %r" % (r["path"], r["predicted_class"], pred,
                                                                   class_name[pred]))
        hit = int(pred == want_index)
        if int(r["correct"]) != hit:
            fail("%s: correct=%s but predicted %d, class %d" % (r["path"], r["correct"], pred, want_index))
        correct += hit
        per_class[folder][0] += 1
        per_class[folder][1] += hit

    with open(args.report, encoding="utf-8") as f:
        report = f.read()
    m = TOP1.search(report)
    if not m:
        fail("no 'top-1 accuracy' line in %s" % args.report)
    pct, got_correct, got_n = m.group(1), int(m.group(2)), int(m.group(3))
    if (got_correct, got_n) != (correct, len(rows)) or pct != "%.2f" % (100.0 * correct / len(rows)):
        fail("report says %s%% (%d of %d), the CSV %d of %d" % (pct, got_correct, got_n, correct, len(rows)))
    table = {g[0]: g for g in ROW.findall(report)}
    for c in classes:
        if c not in table:
            fail("no row for class %s in the report" % c)
        _, idx, n, k, p = table[c]
        if (int(idx), int(n), int(k)) != (index_of[c], per_class[c][0], per_class[c][1]) or \
                p != "%.2f" % (100.0 * per_class[c][1] / per_class[c][0]):
            fail("report row %s: index %s, %s images, %s correct; the CSV: %d, %d, %d" % (
                c, idx, n, k, index_of[c], per_class[c][0], per_class[c][1]))
    print("OK: report and CSV agree: %d of %d correct, %d classes" % (correct, len(rows), len(classes)))

    saved = None
    if args.inputs:
        saved = np.load(args.inputs)
        pixels = np.load(os.path.join(args.out, "pixels.npy"))
        want = pixels[[by_path[p]["pool"] for p in paths]]
        if saved.shape != want.shape or saved.dtype != np.float32:
            fail("saved inputs: %s %s, want %s float32" % (saved.shape, saved.dtype, want.shape))
        if not np.array_equal(saved, want):
            bad = [paths[i] for i in range(len(paths)) if not np.array_equal(saved[i], want[i])]
            fail("saved inputs differ from the pool's pixels for %s (max diff %g)" % (
                bad, np.abs(saved - want).max()))
        print("OK: preprocessed images equal the pool's pixels (%d images)" % len(paths))
    if args.hf:
        diff = [(p, int(r["predicted_index"]), by_path[p]["hf_class"]) for p, r in zip(paths, rows)
                if int(r["predicted_index"]) != by_path[p]["hf_class"]]
        if diff:
            fail("predictions differ from HF's argmax (path, fly, HF): %s" % diff)
        print("OK: every prediction is HF's argmax (%d images)" % len(paths))
    if args.fly_run:
        if saved is None:
            fail("--fly-run needs --inputs")
        with tempfile.TemporaryDirectory() as tmp:
            batch, preds = run_fly_run(args.fly_run, args.artifact, saved, tmp)
        diff = [(p, int(r["predicted_index"]), q) for p, r, q in zip(paths, rows, preds)
                if int(r["predicted_index"]) != q]
        if diff:
            fail("predictions differ from fly-run's argmax (path, fly-classify, fly-run): %s" % diff)
        print("OK: every prediction is fly-run's argmax (batch %d)" % batch)
    return 0


# --------------------------------------------------------------------------- hf-fixture


def cmd_hf_fixture(args):
    import platform

    import PIL
    import torch
    import transformers
    from transformers import ViTForImageClassification

    pool = build_pool()
    model = ViTForImageClassification.from_pretrained(args.model_dir, attn_implementation="eager")
    model.eval()
    x = torch.from_numpy(np.ascontiguousarray(normalise(np.stack([p[2] for p in pool]))))
    with torch.no_grad():
        logits = model(pixel_values=x).logits.numpy()
    images = []
    for i, ((kind, suffix, rgb, _, k, ref), hf) in enumerate(zip(pool, logits)):
        if int(np.argmax(hf)) != int(np.argmax(ref)):
            fail("pool image %d: HF argmax %d, reference %d" % (i, int(np.argmax(hf)), int(np.argmax(ref))))
        top = np.sort(hf)
        images.append({"kind": kind, "candidate": k, "sha256": sha256(rgb), "argmax": int(np.argmax(hf)),
                       "margin": round(float(top[-1] - top[-2]), 6),
                       "logits": [float("%.7g" % v) for v in hf]})
    fixture = {
        "about": "HF transformers' ViTForImageClassification logits for classify_oracle.py's pool "
                 "(tiny-vit from make_model.py, seed 0; pixels (x / 255 - 0.5) / 0.5, [20, 3, 32, 32])",
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "transformers": transformers.__version__, "numpy": np.__version__,
                     "pillow": PIL.__version__},
        "images": images,
    }
    with open(args.fixture, "w", encoding="utf-8") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")
    print("wrote %s: argmax %s" % (args.fixture, [e["argmax"] for e in images]))
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("make")
    p.add_argument("model_dir")
    p.add_argument("out")
    p = sub.add_parser("bad")
    p.add_argument("out")
    p = sub.add_parser("check")
    p.add_argument("out")
    p.add_argument("report")
    p.add_argument("predictions")
    p.add_argument("--mapping", choices=["labels", "sorted"], required=True)
    p.add_argument("--inputs")
    p.add_argument("--hf", action="store_true")
    p.add_argument("--fly-run")
    p.add_argument("--artifact")
    p = sub.add_parser("hf-fixture")
    p.add_argument("model_dir")
    p.add_argument("fixture")
    args = ap.parse_args(argv)
    try:
        return {"make": cmd_make, "bad": cmd_bad, "check": cmd_check, "hf-fixture": cmd_hf_fixture}[args.cmd](args)
    except CheckError as e:
        print("classify_oracle.py %s: error: %s" % (args.cmd, e), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
