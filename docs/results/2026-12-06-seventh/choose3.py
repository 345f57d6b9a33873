"""Seventh session: picks the artifacts for the full benchmark from run-stag.sh's outputs.
A variant qualifies when its checks passed (sb is checked through sbk, whose code paths are a
superset; sbsg through sbk and sg) and its mean Monarch-body ratio in the A/B is below 0.995;
the lowest wins, else base. Prints the choice and writes it to /tmp/ab-choice."""
import re, sys, statistics
out = sys.argv[1]
ok = {}
for f in ("check-sg.txt", "check-big.txt"):
    name = None
    for line in open(f"{out}/{f}"):
        m = re.match(r"== \S+\.cuda-f16-(\S+) vs", line)
        if m:
            name = m.group(1)
        elif line.strip() in ("OK", "FAIL") and name is not None:
            ok.setdefault(name, []).append(line.strip() == "OK")
        m = re.match(r"compute-sanitizer \S+ \S+\.cuda-f16-(\S+): exit (\d+)", line)
        if m:
            ok.setdefault(m.group(1), []).append(m.group(2) == "0")
print("checks:", ok)
needs = {"sb": ["sbk"], "sbk": ["sbk"], "sg": ["sg"], "sbsg": ["sbk", "sg"]}
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
best, best_ratio = "base", 0.995
for label, rs in ratios.items():
    v = labels[label]
    checks = [c for need in needs.get(v, [v]) for c in ok.get(need, [])]
    mean = statistics.mean(rs)
    good = bool(checks) and all(checks) and len(checks) >= 2 * len(needs.get(v, [v]))
    print(f"{v}: body ratios {rs} mean {mean:.3f}; checks {checks} -> {'ok' if good else 'not checked/failed'}")
    if good and mean < best_ratio:
        best, best_ratio = v, mean
print("choice:", best)
open("/tmp/ab-choice", "w").write(best)
