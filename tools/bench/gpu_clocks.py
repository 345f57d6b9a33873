#!/usr/bin/env python3
"""The GPU's SM clock and power while a command runs, from nvidia-smi.

A benchmark's ratio means little if one side ran power-capped: on the H100
fly's compiled GPT-2 bodies reach the 700 W limit at batch 16-32 and the SM
clock drops to ~1400-1700 MHz, while PyTorch eager stays near 1950 MHz
(docs/benchmarks.md, 2026-12-06 fifth session). ClockSampler runs
`nvidia-smi -lms` in the background and summarises the samples in which the
GPU was not idle (nvidia-smi's idle clock-event reason not set).

  gpu_clocks.py [--interval-ms 50] -- COMMAND [ARGS...]

runs COMMAND and prints one summary line to stderr (its exit status is
COMMAND's). Without nvidia-smi it says so and reports nothing.
FLY_NVIDIA_SMI names another nvidia-smi (the tests use a stand-in).
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

NVIDIA_SMI = os.environ.get("FLY_NVIDIA_SMI", "nvidia-smi")
QUERY = "clocks.sm,power.draw,clocks_throttle_reasons.active"
IDLE = 0x1
# SW power cap, HW slowdown, SW / HW thermal slowdown, HW power brake.
CAPPED = 0x4 | 0x8 | 0x20 | 0x40 | 0x80


def nvidia_smi_available():
    return shutil.which(NVIDIA_SMI) is not None


class ClockSampler:
    """Context manager: samples while the block runs; summary() after."""

    def __init__(self, interval_ms=50):
        self.interval_ms = interval_ms
        self.proc = None
        self.out = None
        self.samples = []
        self.available = nvidia_smi_available()

    def __enter__(self):
        if self.available:
            self.out = tempfile.TemporaryFile(mode="w+")
            self.proc = subprocess.Popen(
                [NVIDIA_SMI, "--query-gpu=" + QUERY, "--format=csv,noheader,nounits",
                 "-lms", str(self.interval_ms)],
                stdout=self.out, stderr=subprocess.DEVNULL)
        return self

    def __exit__(self, *exc):
        if self.proc is None:
            return False
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.out.seek(0)
        for line in self.out:
            fields = [f.strip() for f in line.split(",")]
            try:
                self.samples.append((float(fields[0]), float(fields[1]), int(fields[2], 16)))
            except (IndexError, ValueError):
                continue  # a header or a "[N/A]" field
        self.out.close()
        return False

    def summary(self):
        """(busy samples, mean SM MHz, share power/thermal-capped, max W),
        or None without nvidia-smi or busy samples."""
        busy = [s for s in self.samples if not s[2] & IDLE]
        if not busy:
            return None
        return (len(busy), sum(s[0] for s in busy) / len(busy),
                sum(1 for s in busy if s[2] & CAPPED) / len(busy),
                max(s[1] for s in busy))


def describe(summary):
    if summary is None:
        return "no busy samples"
    n, mhz, capped, watts = summary
    return "%d busy samples, mean SM clock %.0f MHz, capped %.0f%%, max %.0f W" % (
        n, mhz, 100 * capped, watts)


def clock_columns(summaries):
    """[mean SM MHz, share capped] over several runs' summary() values, for
    a benchmark table ("-" where nothing was sampled)."""
    sampled = [c for c in summaries if c]
    if not sampled:
        return ["-", "-"]
    return ["%.0f" % statistics.mean(c[1] for c in sampled),
            "%.0f%%" % (100 * statistics.mean(c[2] for c in sampled))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--interval-ms", type=int, default=50)
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        ap.error("no command to run (gpu_clocks.py -- COMMAND ...)")
    sampler = ClockSampler(args.interval_ms)
    if not sampler.available:
        print("gpu_clocks.py: nvidia-smi not found: no clock samples", file=sys.stderr)
    with sampler:
        rc = subprocess.call(command)
    if sampler.available:
        print("gpu_clocks.py: " + describe(sampler.summary()), file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main())
