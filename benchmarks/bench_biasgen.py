"""Benchmark: translating many currents to (coarse, fine) codes with `dynapse_nb.biasgen`.

Times `current_to_code` and `translate` on 1e5 log-uniform currents inside a bias's range (cold = first call,
which sorts the table; warm = best of several later calls), and an exhaustive per-current table scan (the
reference's algorithm, a Python loop) on a subset for comparison. Prints a table; writes
benchmarks/results/biasgen.json.
"""
import json, platform, time
from pathlib import Path

import numpy as np

from dynapse_nb import biasgen
from dynapse_nb.chip import BIASES, BIAS_TYPES, N_FINE, bias_table

N, N_SCAN, REPEAT, NAME = 100_000, 2_000, 5, "SOIF_LEAK_N"


def best(f, repeat=REPEAT):
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
    return min(ts)


def scan(x, t):
    return [divmod(int(np.argmin(np.abs(t - v))), N_FINE) for v in x]


def main():
    rng = np.random.default_rng(0)
    lo, hi = biasgen.bias_range(NAME)
    x = np.exp(rng.uniform(np.log(lo), np.log(hi), N))
    biasgen._lookup.cache_clear(); biasgen._scaled_table.cache_clear()
    t0 = time.perf_counter(); biasgen.current_to_code(NAME, x); cold = time.perf_counter() - t0
    warm = best(lambda: biasgen.current_to_code(NAME, x))
    tr = best(lambda: biasgen.translate(NAME, x))
    scalar = best(lambda: [biasgen.current_to_code(NAME, float(v)) for v in x[:N_SCAN]], 3) / N_SCAN
    b = BIASES[NAME]; t = bias_table()[BIAS_TYPES.index(b.type)] * b.scale
    ref = best(lambda: scan(x[:N_SCAN], t), 3) / N_SCAN
    c, f = biasgen.current_to_code(NAME, x[:N_SCAN])
    assert list(zip(c.tolist(), f.tolist())) == scan(x[:N_SCAN], t)
    rows = [("current_to_code, 1e5 currents, cold (sorts table)", cold, cold / N),
            ("current_to_code, 1e5 currents, warm", warm, warm / N),
            ("translate, 1e5 currents, warm", tr, tr / N),
            ("current_to_code, one scalar per call", scalar * N, scalar),
            ("exhaustive table scan per current (reference algorithm)", ref * N, ref)]
    print(f"bias {NAME}, {N} log-uniform currents in [{lo:.3g}, {hi:.3g}] A")
    print(f"{'what':58s} {'total (s)':>10s} {'per current (us)':>17s}")
    for what, tot, per in rows:
        est = " (extrapolated)" if "scalar" in what or "scan" in what else ""
        print(f"{what:58s} {tot:10.4f} {per * 1e6:17.3f}{est}")
    print(f"speed-up of the vectorized call over the per-current scan: {ref * N / warm:.0f}x")
    out = dict(bias=NAME, n_currents=N, n_scan_subset=N_SCAN, cold_s=cold, warm_s=warm, translate_warm_s=tr,
               scalar_call_per_current_s=scalar, exhaustive_scan_per_current_s=ref,
               speedup_vs_scan=ref * N / warm, python=platform.python_version(), numpy=np.__version__,
               machine=platform.machine(), processor=platform.processor() or None)
    path = Path(__file__).parent / "results" / "biasgen.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
