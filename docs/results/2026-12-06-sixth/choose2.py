"""Picks the Monarch variant for the full benchmark from run-rv.sh's outputs:
the lowest mean body ratio in the A/B among variants whose checks (every
check artifact named -VARIANT or -VARIANTf, and their sanitizer runs) all
passed and were present; 'tma' (the landed code) if none is faster by 0.5%."""
import re, sys, statistics
out = sys.argv[1]
ok = {}
text = open(f"{out}/check-t.txt").read()
name = None
for line in text.splitlines():
    m = re.match(r"== (\S+)\.cuda-f16-(\S+?)\.fly vs", line) or re.match(r"== (\S+)\.cuda-f16-(\S+) vs", line)
    if m:
        name = m.group(2).removesuffix(".fly")
    elif line.strip() in ("OK", "FAIL") and name is not None:
        ok.setdefault(name, []).append(line.strip() == "OK")
    m = re.match(r"compute-sanitizer \S+ \S+\.cuda-f16-(\S+?)(\.fly)?: exit (\d+)", line)
    if m:
        ok.setdefault(m.group(1), []).append(m.group(3) == "0")
print("checks:", ok)
labels, ratios = {}, {}
for line in open(f"{out}/ab.txt"):
    m = re.match(r"(B\d*) = \.carry/b-(\S+)", line)
    if m:
        labels[m.group(1) if m.group(1) != "B" else "B1"] = m.group(2)
    if line.startswith("| gpt2-body"):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        n = len(labels)
        for i, r in enumerate(cells[2 + n:2 + 2 * n]):
            ratios.setdefault("B%d" % (i + 1), []).append(float(r))
best, best_ratio = "tma", 0.995
for label, rs in ratios.items():
    v = labels[label]
    checks = ok.get(v, []) + ok.get(v + "f", [])
    mean = statistics.mean(rs)
    print(f"{v}: body ratios {rs} mean {mean:.3f}; checks {checks}")
    if checks and all(checks) and mean < best_ratio:
        best, best_ratio = v, mean
print("choice:", best)
open("/tmp/ab-choice", "w").write(best)
