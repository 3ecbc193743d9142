"""Simulator speed and memory (issue: foundation). Prints a table and writes benchmarks/results/sim.json.

Cases (all on the CPU, float32, dt = 1 ms, Poisson input at 50 Hz):
  * tutorial_call  -- Sequential(LinearJax((60, 2)), DynapSim((2, 2), has_rec=True)), one (500, 60) sample:
                      first call (includes compilation) and the median of later calls;
  * tutorial_batch -- the 100 test samples of the tutorial in one batched call (100, 500, 60);
  * dense_1024     -- 1024 inputs -> 1024 neurons, dense recurrent, batch 100 x 500 steps: compile time,
                      median run, neuron-steps per second;
  * memory         -- peak resident memory of a fresh process running dense_1024 once, record=False / True.
Both synapse models are measured. When DYNAPSE_NB_REFERENCE_PYTHON names a Python with Rockpool installed,
benchmarks/reference_sim.py runs with it in the same invocation and its numbers are stored beside ours.

Usage: python benchmarks/bench_sim.py [--quick] [--out benchmarks/results/sim.json]
"""
import argparse, json, os, platform, statistics, subprocess, sys, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import save_results  # noqa: E402

os.environ.setdefault("JAX_PLATFORMS", "cpu")
HERE = Path(__file__).resolve().parent
RATE, DT = 50.0, 1e-3


def _net(n_in, n, model, seed=0):
    import numpy as np
    from dynapse_nb.nn import LinearJax, Sequential
    from dynapse_nb.dynapsim import DynapSim
    return Sequential(LinearJax((n_in, n), rng_key=seed), DynapSim((n, n), has_rec=True, rng_key=seed, synapse_model=model))


def _raster(shape, seed=2022):
    import numpy as np
    return np.random.default_rng(seed).poisson(RATE * DT, shape).astype(np.float32)


def _timed(f):
    import jax
    t0 = time.perf_counter(); out = f(); jax.block_until_ready(out); return time.perf_counter() - t0, out


def tutorial(model, repeats):
    net = _net(60, 2, model)
    x = _raster((500, 60))
    first, _ = _timed(lambda: net(x)[0])
    times = [_timed(lambda: net.reset_state()(x)[0])[0] for _ in range(repeats)]
    xb = _raster((100, 500, 60), seed=2023)
    net.reset_state(); _timed(lambda: net(xb)[0])
    btimes = [_timed(lambda: net.reset_state()(xb)[0])[0] for _ in range(repeats)]
    return {"first_call_s": first, "median_call_s": statistics.median(times),
            "batch100_first_s": None, "batch100_median_s": statistics.median(btimes)}


def dense(model, n, batch, steps, repeats, record=False):
    import numpy as np
    net = _net(n, n, model)
    x = _raster((batch, steps, n), seed=0)
    first, out = _timed(lambda: net(x, record=record)[0])
    times = [_timed(lambda: net.reset_state()(x, record=record)[0])[0] for _ in range(repeats)]
    run = statistics.median(times) if times else first
    return {"n_in": n, "n_neurons": n, "batch": batch, "steps": steps, "first_call_s": first,
            "compile_s_estimate": max(first - run, 0.0), "median_run_s": run, "run_times_s": times,
            "neuron_steps_per_s": batch * steps * n / run, "mean_rate_hz": float(np.asarray(out).mean() / DT)}


def memory(model, n, batch, steps, record, repeats=3):
    """Peak RSS (MiB) of a fresh interpreter that builds the network and runs it once (ru_maxrss of that
    process), measured `repeats` times: the peak varies by a few hundred MiB from run to run (allocator arenas,
    thread timing), so the median and the spread are reported."""
    code = (f"import sys, resource; sys.path.insert(0, {str(HERE)!r}); import bench_sim as b; "
            f"b.dense({model!r}, {n}, {batch}, {steps}, 0, record={record}); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    peaks = []
    for _ in range(repeats):
        r = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                           env={**os.environ, "JAX_PLATFORMS": "cpu"})
        peaks.append(int(r.stdout.split()[-1]) / 1024)
    return {"model": model, "record": record, "peak_rss_mib": statistics.median(peaks), "peaks_mib": peaks}


def reference(quick):
    py = os.environ.get("DYNAPSE_NB_REFERENCE_PYTHON")
    if not py: return None
    cmd = [py, str(HERE / "reference_sim.py")] + (["--quick"] if quick else [])
    r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "JAX_PLATFORMS": "cpu"})
    if r.returncode: return {"error": r.stderr[-2000:]}
    return json.loads(r.stdout)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes: checks that the script runs")
    ap.add_argument("--out", default=str(HERE / "results" / "sim.json"))
    a = ap.parse_args(argv)
    import jax
    n, batch, steps, rep = (64, 4, 50, 2) if a.quick else (1024, 100, 500, 3)
    res = {"machine": platform.machine(), "cpu_count": os.cpu_count(), "jax": jax.__version__,
           "loadavg_at_start": os.getloadavg(), "quick": a.quick, "ours": {}}
    for model in ("four", "lumped"):
        res["ours"][model] = {"tutorial": tutorial(model, 5 if a.quick else 50),
                              "dense": dense(model, n, batch, steps, rep)}
    res["ours"]["memory"] = [memory("four", n, batch, steps, rec) for rec in (False, True)]
    res["reference"] = reference(a.quick)
    res["loadavg_at_end"] = os.getloadavg()
    save_results(res, a.out)
    print(f"{'case':38s} {'four':>12s} {'lumped':>12s} {'reference':>12s}")
    ref = res["reference"] or {}
    rows = [("60->2 call, first (s)", lambda m: m["tutorial"]["first_call_s"], ref.get("tutorial_eager", {}).get("first_call_s")),
            ("60->2 call, median (ms)", lambda m: 1e3 * m["tutorial"]["median_call_s"],
             1e3 * ref["tutorial_eager"]["median_call_s"] if ref.get("tutorial_eager") else None),
            ("100 samples (ms; ref: loop)", lambda m: 1e3 * m["tutorial"]["batch100_median_s"],
             1e3 * ref["tutorial_100_sample_loop"]["total_s"] if ref.get("tutorial_100_sample_loop") else None),
            (f"dense {n}, batch {batch} x {steps} (s)", lambda m: m["dense"]["median_run_s"],
             ref.get("dense_1024_jit", {}).get("median_run_s")),
            ("dense neuron-steps/s (1e6)", lambda m: m["dense"]["neuron_steps_per_s"] / 1e6,
             ref["dense_1024_jit"]["neuron_steps_per_s"] / 1e6 if ref.get("dense_1024_jit") else None),
            ("dense first call incl. compile (s)", lambda m: m["dense"]["first_call_s"],
             ref.get("dense_1024_jit", {}).get("compile_s"))]
    fmt = lambda v: f"{v:12.3f}" if isinstance(v, (int, float)) else f"{'-':>12s}"
    for name, f, r in rows:
        print(f"{name:38s} {fmt(f(res['ours']['four']))} {fmt(f(res['ours']['lumped']))} {fmt(r)}")
    for m in res["ours"]["memory"]:
        print(f"peak RSS, dense, record={m['record']!s:5s} (MiB) {m['peak_rss_mib']:12.0f}   "
              f"(runs: {', '.join(f'{p:.0f}' for p in m['peaks_mib'])})")
    return res


if __name__ == "__main__":
    main()
