#!/usr/bin/env python3
"""FlexAttention sliding-window peer timing for fly.local_attention.

  python3 flex_window.py [--window 256] [--heads 12] [--d 64]
                         [--cases 4096:1,16384:1,65536:1,16384:0]

Each case T:causal runs in a fresh compile (torch._dynamo.reset(), one
static kernel: torch.compile(flex_attention, dynamic=False)) on random
f16 q, k, v of shape [1, heads, T, d], with a block mask of fly's band
(causal: 0 <= q - k < w; else -(w/2) <= k - q < w - w/2). Prints, per case,
Flex's time as the median of CUDA-event samples of back-to-back calls and as
triton.testing.do_bench's median (the smaller is reported as Flex), and the
dense SDPA time with the same causality. For T <= 4096 Flex's output is
checked against SDPA with the explicit boolean mask (it must compute the
same band). One line per case:
  FLEX_RESULT T causal window flex_us flex_events_us flex_do_bench_us sdpa_us
"""
import argparse
import statistics
import warnings

import torch
import torch.nn.functional as F
from torch.nn.attention.flex_attention import create_block_mask, flex_attention


def events_median(fn, samples=30):
    for _ in range(5):
        fn()
    torch.cuda.synchronize()
    start = torch.cuda.Event(enable_timing=True)
    stop = torch.cuda.Event(enable_timing=True)
    start.record()
    fn()
    stop.record()
    stop.synchronize()
    once = max(start.elapsed_time(stop) * 1e3, 1.0)
    reps = max(1, min(20, int(2000 / once)))
    times = []
    for _ in range(samples if once < 5000 else 10):
        start.record()
        for _ in range(reps):
            fn()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop) * 1e3 / reps)
    return statistics.median(times)


def time_case(t, causal, window, heads=12, d=64, check=None):
    """(flex_us, flex_events_us, flex_do_bench_us, sdpa_us) for one shape,
    compiled afresh; `check` (default: T <= 4096) also compares Flex with
    SDPA under the explicit boolean mask and prints the error."""
    import triton.testing

    half = window // 2
    torch._dynamo.reset()
    flex = torch.compile(flex_attention, dynamic=False)
    gen = torch.Generator(device="cuda").manual_seed(t)
    q, k, v = (torch.randn(1, heads, t, d, device="cuda", dtype=torch.float16,
                           generator=gen) for _ in range(3))
    if causal:
        band = lambda b, h, qi, ki: (qi >= ki) & (qi - ki < window)
    else:
        band = lambda b, h, qi, ki: (ki - qi >= -half) & (ki - qi < window - half)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mask = create_block_mask(band, None, None, t, t, device="cuda",
                                 _compile=True)
    with torch.inference_mode():
        run = lambda: flex(q, k, v, block_mask=mask)
        out = run()
        if check if check is not None else t <= 4096:
            i = torch.arange(t, device="cuda")
            dense = band(0, 0, i[:, None], i[None, :])
            ref = F.scaled_dot_product_attention(q, k, v, attn_mask=dense)
            err = ((out.float() - ref.float()).norm() /
                   ref.float().norm()).item()
            print(f"T={t} causal={int(causal)}: Flex vs masked SDPA "
                  f"rel. err {err:.2e}")
        ev = events_median(run)
        db = triton.testing.do_bench(run, warmup=25, rep=200,
                                     return_mode="median") * 1e3
        sdpa = events_median(lambda: F.scaled_dot_product_attention(
            q, k, v, is_causal=causal))
    del q, k, v, mask, out
    torch.cuda.empty_cache()
    return min(ev, db), ev, db, sdpa


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--window", type=int, default=256)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--d", type=int, default=64)
    ap.add_argument("--cases", default="4096:1,16384:1,65536:1,16384:0")
    args = ap.parse_args()
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}")
    for case in args.cases.split(","):
        t, causal = int(case.split(":")[0]), case.split(":")[1] == "1"
        flex, ev, db, sdpa = time_case(t, causal, args.window, args.heads,
                                       args.d)
        print(f"FLEX_RESULT {t} {int(causal)} {args.window} {flex:.1f} "
              f"{ev:.1f} {db:.1f} {sdpa:.1f}", flush=True)


if __name__ == "__main__":
    main()
