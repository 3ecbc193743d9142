"""Sweeps over many simulated chips: throughput, overhead, memory and devices of `dynapse_nb.sweep`.

    JAX_PLATFORMS=cpu .venv/bin/python benchmarks/bench_sweep.py [--chips 1000] [--samples 100] [--big-chips 10000]
        [--loop-chips 20] [--devices 4] [--quick] [--out benchmarks/results/sweep.json]

Protocol (issue 14): the tutorial network (`tutorial_network()`: shipped weights, 60 inputs -> 2 DynapSim neurons
with recurrence, the default lumped synapse model) on `FrozenNoiseDataset(100, seed=2023)` (100 samples of 500 steps), with
+-5 % mismatch, chip i drawn from `chip_key(0, i)`.

* sweep: `sweep(net, x, n_chips=1000)` at the default chunk size and at several others; wall time of a warm call
  (the compilation is timed separately) and the cost per (chip, sample).
* plain: the best plain batched call of the module -- `jax.jit(net.apply)` on the same samples tiled to batches of
  100 .. 1600, no mismatch, no sweep machinery -- as the cost per sample. Target: the sweep's cost per
  (chip, sample) is no higher.
* loop: a Python loop over chips, each `tutorial_network(percent_mismatch=0.05, rng_key=chip_key(0, i))(x)` (what
  the FRR benchmark does), timed on `--loop-chips` chips and scaled to `--chips`. Target: the sweep is >= 50x faster.
  The loop's counts are checked against the sweep's, chip for chip.
* memory: peak resident memory (ru_maxrss) of a whole fresh process that sweeps `--big-chips` chips and builds the
  tidy DataFrame; the same for `--chips` chips, to show it does not grow with the chips. Target: < 2 GiB.
* devices: the same sweep in a fresh process with `--devices` forced host devices
  (XLA_FLAGS=--xla_force_host_platform_device_count); throughput, and whether the counts are bit-identical.
No GPU is used here (none on this machine); on one, run the same command with JAX_PLATFORMS unset.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np
import jax
import jax.numpy as jnp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from _results import print_checks, save_results  # noqa: E402

from dynapse_nb.spikes import FrozenNoiseDataset  # noqa: E402
from dynapse_nb.sweep import chip_key, sweep  # noqa: E402
from dynapse_nb.train import tutorial_network  # noqa: E402

TARGETS = dict(max_cost_ratio_vs_plain=1.0, min_speedup_vs_loop=50.0, max_peak_rss_gib=2.0)


def digest(a) -> str: return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]


def data(n_samples: int) -> np.ndarray:
    return FrozenNoiseDataset(n_samples, seed=2023).input_raster


def best_of(f, n: int = 3) -> float:
    "Minimum wall time of `n` calls of `f` after one warm-up call."
    f(); ts = []
    for _ in range(n):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return min(ts)


def plain(net, x, factors=(1, 2, 4, 8, 16)) -> dict:
    "Cost per sample of the module's own jitted batched call, for batches of len(x) * factor samples."
    f = jax.jit(lambda p, xb, st: net.apply(p, xb, st)[0].sum(1))
    p = net.parameters()
    out = {}
    for k in factors:
        xb = jnp.asarray(np.tile(x, (k, 1, 1)))
        st = net.initial_state(xb.shape[0])
        t = best_of(lambda: jax.block_until_ready(f(p, xb, st)))
        out[str(xb.shape[0])] = t / xb.shape[0]
    return out


def timed_sweep(net, x, n_chips: int, chunk, warm_chips: int) -> dict:
    "A first sweep of `warm_chips` chips (it compiles), then the timed sweep of n_chips."
    t = time.perf_counter(); first = sweep(net, x, n_chips=warm_chips, chunk_size=chunk, progress=False)
    compile_s = time.perf_counter() - t
    t = time.perf_counter(); res = sweep(net, x, n_chips=n_chips, chunk_size=chunk, progress=False)
    wall = time.perf_counter() - t
    return dict(chunk_size=res.chunk_size, first_call_s=compile_s, first_call_chips=first.n_chips, wall_s=wall,
                per_chip_sample_us=wall / (n_chips * len(x)) * 1e6, chips_per_s=n_chips / wall,
                digest=digest(res.counts), res=res)


def loop(x, n: int) -> tuple[float, float, np.ndarray]:
    """Seconds per chip of a Python loop building and calling one module per chip, the part of it spent in the
    call (building the module -- drawing its mismatch -- is the rest), and the counts (n, B, N)."""
    tutorial_network(percent_mismatch=0.05, rng_key=chip_key(0, 0))(x)       # warm-up: compile once
    counts, t_call = [], 0.0
    t = time.perf_counter()
    for i in range(n):
        m = tutorial_network(percent_mismatch=0.05, rng_key=chip_key(0, i))
        tc = time.perf_counter()
        counts.append(np.asarray(m(x)[0]).sum(1))
        t_call += time.perf_counter() - tc
    return (time.perf_counter() - t) / n, t_call / n, np.stack(counts).astype(np.int32)


def child(kind: str, n_chips: int, n_samples: int) -> dict:
    "Run in a fresh process: one sweep (and for 'rss' the DataFrame), reporting time, memory and the digest."
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    net, x = tutorial_network(), data(n_samples)
    t = time.perf_counter()
    res = sweep(net, x, n_chips=n_chips, progress=False)
    wall = time.perf_counter() - t
    rss_sweep = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    out = dict(n_chips=n_chips, devices=len(jax.devices()), n_devices_used=res.n_devices, chunk_size=res.chunk_size,
               wall_s_with_compile=wall, chips_per_s_with_compile=n_chips / wall, digest=digest(res.counts),
               peak_rss_gib_before_sweep=rss0, peak_rss_gib_after_sweep=rss_sweep)
    if kind == "rss":
        df = res.frame()
        out.update(frame_rows=len(df), frame_mib=df.memory_usage(deep=True).sum() / 2**20,
                   peak_rss_gib_after_frame=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20)
    else:
        t = time.perf_counter(); res = sweep(net, x, n_chips=n_chips, progress=False); wall = time.perf_counter() - t
        out.update(wall_s=wall, chips_per_s=n_chips / wall, per_chip_sample_us=wall / (n_chips * n_samples) * 1e6)
    return out


def run_child(kind: str, n_chips: int, n_samples: int, devices: int = 1) -> dict:
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    if devices > 1: env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    r = subprocess.run([sys.executable, __file__, "--child", kind, "--chips", str(n_chips), "--samples", str(n_samples)],
                       capture_output=True, text=True, env=env, cwd=ROOT)
    if r.returncode: return dict(error=f"child exited with {r.returncode}", stderr=r.stderr[-2000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chips", type=int, default=1000)
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--big-chips", type=int, default=10_000, help="chips of the peak-memory run")
    ap.add_argument("--loop-chips", type=int, default=20, help="chips of the timed Python loop (scaled to --chips)")
    ap.add_argument("--devices", type=int, default=4, help="forced host devices of the multi-device run")
    ap.add_argument("--chunks", default="8,16,32,64,128", help="chunk sizes timed besides the default")
    ap.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run of the script itself")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "sweep.json"))
    ap.add_argument("--child", choices=["rss", "devices"], help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        print(json.dumps(child(a.child, a.chips, a.samples)))
        return {}
    if a.quick:     # a smoke run: tiny sizes, one memory run, the multi-device run against this process's counts
        a.chips, a.samples, a.big_chips, a.loop_chips, a.chunks = 16, 4, 32, 2, "8"

    load0 = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    net, x = tutorial_network(), data(a.samples)
    t0 = time.perf_counter()
    res = dict(protocol=dict(network=f"tutorial_network(): shipped weights, 60 -> 2 DynapSim, "
                                     f"synapse_model={net[1].synapse_model.name!r}, has_rec",
                             data=f"FrozenNoiseDataset({a.samples}, seed=2023), 500 steps of 1 ms",
                             mismatch="+-5 %, chip i from chip_key(0, i)", chips=a.chips, big_chips=a.big_chips,
                             loop_chips=a.loop_chips, forced_devices=a.devices, quick=a.quick),
               targets=TARGETS)

    p = plain(net, x, (1, 2) if a.quick else (1, 2, 4, 8, 16))
    best_b = min(p, key=p.get)
    res["plain"] = dict(per_sample_us={b: v * 1e6 for b, v in p.items()}, best_batch=int(best_b),
                        best_per_sample_us=p[best_b] * 1e6)
    print(f"plain jitted module call: best {p[best_b] * 1e6:.1f} us per sample (batch {best_b}); "
          + ", ".join(f"{b}: {v * 1e6:.1f}" for b, v in p.items()))

    runs = {}
    for chunk in [None] + [int(c) for c in a.chunks.split(",") if c]:
        r = timed_sweep(net, x, a.chips, chunk, a.chips if chunk is None else chunk)  # the first: every shape
        runs["default" if chunk is None else str(chunk)] = r
        print(f"sweep {a.chips} chips, chunk {r['chunk_size']:>4}{' (default)' if chunk is None else ''}: "
              f"{r['wall_s']:.2f} s, {r['per_chip_sample_us']:.1f} us per (chip, sample), "
              f"{r['chips_per_s']:.0f} chips/s; first call ({r['first_call_chips']} chips, compiling) {r['first_call_s']:.1f} s")
    digests = {r["digest"] for r in runs.values()}
    default = runs["default"]
    best_key = min(runs, key=lambda k: runs[k]["wall_s"])
    res["sweep"] = {k: {kk: v for kk, v in r.items() if kk != "res"} for k, r in runs.items()}
    res["sweep_counts_identical_over_chunk_sizes"] = len(digests) == 1

    per_chip, per_call, loop_counts = loop(x, a.loop_chips)
    loop_total = per_chip * a.chips
    same = bool(np.array_equal(loop_counts, default["res"].counts[0, :a.loop_chips]))
    res["loop"] = dict(seconds_per_chip=per_chip, seconds_per_chip_in_the_call=per_call, chips_timed=a.loop_chips,
                       seconds_for_chips_scaled=loop_total, counts_equal_sweep=same)
    print(f"python loop over chips: {per_chip * 1e3:.0f} ms per chip ({per_call * 1e3:.0f} ms of it in the call, the "
          f"rest building the module) -> {loop_total:.0f} s for {a.chips} chips (scaled from {a.loop_chips}); "
          f"counts equal the sweep's: {same}")

    cost_ratio = default["per_chip_sample_us"] / res["plain"]["best_per_sample_us"]
    speedup = loop_total / default["wall_s"]
    res["comparison"] = dict(cost_ratio_default_vs_plain=cost_ratio,
                             cost_ratio_best_chunk_vs_plain=runs[best_key]["per_chip_sample_us"] /
                             res["plain"]["best_per_sample_us"], best_chunk=best_key,
                             speedup_vs_loop_default=speedup,
                             speedup_vs_loop_calls_alone=per_call * a.chips / default["wall_s"],
                             speedup_vs_loop_best_chunk=loop_total / runs[best_key]["wall_s"])

    res["memory"] = {str(n): run_child("rss", n, a.samples) for n in ([] if a.quick else [a.chips]) + [a.big_chips]}
    big = res["memory"][str(a.big_chips)]
    for n, m in res["memory"].items():
        if "error" in m: print(f"memory run {n}: {m['error']}\n{m['stderr']}"); continue
        print(f"fresh process, {n} chips: peak RSS {m['peak_rss_gib_after_sweep']:.2f} GiB after the sweep, "
              f"{m['peak_rss_gib_after_frame']:.2f} GiB after the DataFrame ({m['frame_rows']} rows, "
              f"{m['frame_mib']:.0f} MiB); {m['wall_s_with_compile']:.1f} s with compilation")

    one = dict(digest=default["digest"], chips_per_s=default["chips_per_s"], chunk_size=default["chunk_size"],
               per_chip_sample_us=default["per_chip_sample_us"], note="this process (--quick)") if a.quick else \
        run_child("devices", a.chips, a.samples, 1)
    many = run_child("devices", a.chips, a.samples, a.devices)
    res["devices"] = {"1": one, str(a.devices): many}
    if "error" not in one and "error" not in many:
        res["devices"]["identical_counts"] = one["digest"] == many["digest"] == default["digest"]
        for d, m in ((1, one), (a.devices, many)):
            print(f"fresh process, {d} device(s): {m['chips_per_s']:.0f} chips/s warm "
                  f"({m['per_chip_sample_us']:.1f} us per (chip, sample)), chunk {m['chunk_size']}")
        print(f"counts bit-identical on 1 and {a.devices} devices and in-process: {res['devices']['identical_counts']}")
    res["gpu"] = "not measured: this machine has no GPU (JAX sees only CPU devices)"
    res["environment"] = dict(jax=jax.__version__, numpy=np.__version__, python=sys.version.split()[0],
                              cpus=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
                              load_average_1min_start_end=[load0, os.getloadavg()[0] if load0 is not None else None], devices=[str(d) for d in jax.devices()],
                              seconds=time.perf_counter() - t0)
    peak = big.get("peak_rss_gib_after_frame", float("inf"))
    res["passes"] = {
        f"sweep cost per (chip, sample) <= best plain batched call (ratio {cost_ratio:.2f})":
            cost_ratio <= TARGETS["max_cost_ratio_vs_plain"],
        f">= 50x faster than a Python loop over chips ({speedup:.0f}x)": speedup >= TARGETS["min_speedup_vs_loop"],
        f"peak RSS of a {a.big_chips}-chip process < 2 GiB ({peak:.2f} GiB)": peak < TARGETS["max_peak_rss_gib"],
        "counts identical over chunk sizes, devices and the loop":
            res["sweep_counts_identical_over_chunk_sizes"] and same and res["devices"].get("identical_counts", False),
    }
    print_checks(res["passes"])
    save_results(res, a.out)
    return res


if __name__ == "__main__":
    main()
