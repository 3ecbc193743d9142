"""Simulator speed beside the reference (issue 13): prints the side-by-side table, the matmul floor, the
event-driven case, the compile-cache case and the record memory; writes benchmarks/results/sim.json.

Every case: Sequential(LinearJax((N_in, N)), DynapSim((N, N), has_rec=True)), Poisson input at 50 Hz, dt = 1 ms,
float32, 500 steps, the default ("lumped") synapse model unless said otherwise.

  * table   -- ours and the reference, both under `jax.jit` (the reference as an expert Rockpool user writes it,
               benchmarks/reference_sim.py --cases, run with $DYNAPSE_NB_REFERENCE_PYTHON): median run time of each
               case, and the first call including compilation of the dense case, both timed alike (lower + compile
               of a new jitted function and its first run, in a running process, without a persistent cache); the
               first module call in a fresh interpreter is reported beside it. Measured in ROUNDS: each round
               times the reference's cases, then ours, so that both see the same load; the ratios are taken per
               round and their median reported (the machine is shared: the load average is recorded).
  * floor   -- the bare dense products a step needs, timed in the same round as ours: the input projection as
               one (B*T, N_in) @ (N_in, C*N) product plus T products (B, N) @ (N, C*N) in a scan (C = 1 for the
               lumped model, 2 for "four": positive weights drive AMPA, negative ones GABA).
  * event   -- 1024 neurons, sparse input and recurrent weights (fan-in 64 in all), about 5 % spikes per step:
               recurrent="dense" against "event" at several batch sizes and input rates, then one sample of
               512, 256 and 128 neurons (the size from which "auto" takes the event-driven path); same spikes checked.
  * cache   -- a fresh interpreter twice with one empty compilation-cache folder: the first call of the tutorial
               net and of the dense case, cold (compiles) and warm (reads the first session's program).
  * memory  -- what each recorded trace costs (bytes = B x ceil(T / record_every) x N x 4), and the peak resident
               memory of a fresh process running the dense case with record=False / ["imem", "spikes"] / True.
  * --device gpu -- the dense case at batch 100 and 1000 on the GPU (target: <= 50 ms at batch 100 on an
               H200-class GPU). Without a GPU it refuses, unless --allow-cpu (used by the tests: the mode runs on
               the CPU at --quick sizes).

Usage: python benchmarks/bench_sim.py [--quick] [--rounds R] [--device cpu|gpu] [--allow-cpu] [--out FILE]
"""
import argparse, json, math, os, platform, statistics, subprocess, sys, tempfile, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import print_checks, save_results  # noqa: E402

HERE = Path(__file__).resolve().parent
RATE, DT, STEPS = 50.0, 1e-3, 500
TABLE = [(60, 2, 100), (60, 64, 100), (60, 1024, 100), (1024, 1024, 100)]
SMALL = [(60, 2, 1), (60, 2, 10), (60, 64, 1), (60, 64, 10)]      # small batches (issue: N=2..64, B=1..100)
DENSE = (1024, 1024, 100)


def _key(case): return ":".join(map(str, case))


def _net(n_in, n, model="lumped", seed=0, **kw):
    from dynapse_nb.nn import LinearJax, Sequential
    from dynapse_nb.dynapsim import DynapSim
    return Sequential(LinearJax((n_in, n), rng_key=seed), DynapSim((n, n), has_rec=True, rng_key=seed,
                                                                  synapse_model=model, **kw))


def _raster(shape, seed=0):
    import numpy as np
    return np.random.default_rng(seed).poisson(RATE * DT, shape).astype(np.float32)


def _median_time(f, repeats):
    import jax
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter(); jax.block_until_ready(f()); times.append(time.perf_counter() - t0)
    return statistics.median(times)


def jitted(net, x, **options):
    "Our network under jax.jit, as the reference is timed: a function of (params, x, state) -> spikes."
    import jax
    f = jax.jit(lambda p, x, s: net.apply(p, x, s, **options)[0])
    p, s = net.parameters(), net.initial_state(x.shape[0])
    return lambda: f(p, x, s)


def floor_fn(n_in, n, batch, steps, C):
    "The bare dense products of one simulation (see the module docstring)."
    import jax, jax.numpy as jnp, numpy as np
    rng = np.random.default_rng(1)
    w_in = jnp.asarray(rng.uniform(0, 1e-3, (n_in, C * n)).astype(np.float32))
    w_rec = jnp.asarray(rng.uniform(0, 1e-3, (n, C * n)).astype(np.float32))
    x = jnp.asarray(_raster((batch, steps, n_in)))

    @jax.jit
    def f(x):
        proj = x.reshape(-1, n_in) @ w_in
        def body(s, _): return (s @ w_rec)[:, :n], None
        return proj, jax.lax.scan(body, jnp.ones((batch, n)), None, length=steps)[0]
    return lambda: f(x)


def reference_cases(cases, steps, repeats):
    py = os.environ.get("DYNAPSE_NB_REFERENCE_PYTHON")
    if not py: return None
    spec = ",".join(f"{_key(c)}:{r}" for c, r in zip(cases, repeats))
    r = subprocess.run([py, str(HERE / "reference_sim.py"), "--cases", spec, "--steps", str(steps)],
                       capture_output=True, text=True, env={**os.environ, "JAX_PLATFORMS": "cpu"})
    if r.returncode: return {"error": r.stderr[-2000:]}
    out = json.loads(r.stdout)
    return {k.rsplit(":", 1)[0]: v for k, v in out["jit"].items()}


def first_call_jitted(net, x):
    """Compile (lower + compile of a new `jax.jit`) and first run, timed as reference_sim.py times the reference's:
    in a process where JAX is already running, parameters and state prepared before the clock starts."""
    import jax
    f = jax.jit(lambda p, x, s: net.apply(p, x, s)[0])
    p, s = net.parameters(), net.initial_state(x.shape[0])
    t0 = time.perf_counter()
    compiled = f.lower(p, x, s).compile()
    compile_s = time.perf_counter() - t0
    jax.block_until_ready(compiled(p, x, s))
    return {"compile_s": compile_s, "first_call_s": time.perf_counter() - t0}


def ours_cases(cases, steps, repeats, nets, first_call_of=()):
    import jax.numpy as jnp
    res = {}
    for c, rep in zip(cases, repeats):
        x = jnp.asarray(_raster((c[2], steps, c[0])))
        first = first_call_jitted(nets[c], x) if c in first_call_of else {}
        f = jitted(nets[c], x)
        f()                                             # compiled once (the first call is timed separately)
        res[_key(c)] = {"median_run_s": _median_time(f, rep), **first}
    return res


def first_call(n_in, n, batch, steps, cache_dir, model="lumped"):
    "First call (compile + run) and a later call of `net(x)` in a fresh interpreter using `cache_dir`."
    code = (f"import sys, time; sys.path.insert(0, {str(HERE)!r}); import bench_sim as b, jax\n"
            f"net = b._net({n_in}, {n}, {model!r}); x = b._raster(({batch}, {steps}, {n_in}))\n"
            "t0 = time.perf_counter(); jax.block_until_ready(net(x)[0]); t1 = time.perf_counter()\n"
            "jax.block_until_ready(net(x)[0]); t2 = time.perf_counter(); print(t1 - t0, t2 - t1)")
    env = {**os.environ, "DYNAPSE_NB_JAX_CACHE": str(cache_dir)}
    r = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env)
    first, later = map(float, r.stdout.split()[-2:])
    return {"first_call_s": first, "later_call_s": later, "compile_overhead_s": max(first - later, 0.0)}


def cache_case(quick):
    "Cold and warm first calls, each in a fresh interpreter, sharing one new cache folder."
    n_in, n, b, steps = (60, 64, 8, 50) if quick else DENSE + (STEPS,)
    out = {}
    for name, case in (("tutorial_60x2", (60, 2, 1, STEPS)), ("dense", (n_in, n, b, steps))):
        with tempfile.TemporaryDirectory() as tmp:
            out[name] = {"cold": first_call(*case, tmp), "warm": first_call(*case, tmp),
                         "entries": len(os.listdir(tmp))}
    return out


def sparse_net(n, fan_in, scale, seed=0):
    import numpy as np
    from dynapse_nb.nn import LinearJax, Sequential
    from dynapse_nb.dynapsim import DynapSim
    rng = np.random.default_rng(seed)
    def sparse(lo, hi, k):
        w = np.zeros((n, n), np.float32)
        for j in range(n): w[rng.choice(n, k, replace=False), j] = rng.uniform(lo, hi, k)
        return w
    return Sequential(LinearJax((n, n), weight=sparse(0, 2 * scale, fan_in // 2)),
                      DynapSim(n, has_rec=True, w_rec=sparse(-scale, scale, fan_in // 2)))


def event_case(quick, repeats):
    """Dense against event-driven products on sparse networks (fan-in 64): 1024 neurons at several batches and
    input rates, and one sample at 5 % input for smaller networks (the crossover in size that "auto" follows)."""
    import jax.numpy as jnp, numpy as np
    steps = 100 if quick else STEPS
    grid = ([(256, 1, 0.05), (256, 4, 0.05), (128, 1, 0.05)] if quick else
            [(1024, 1, 0.01), (1024, 1, 0.05), (1024, 1, 0.2), (1024, 4, 0.05), (1024, 16, 0.05), (1024, 100, 0.05),
             (512, 1, 0.05), (256, 1, 0.05), (128, 1, 0.05)])
    nets, rows = {}, []
    for n, batch, rate in grid:
        net = nets.setdefault(n, sparse_net(n, 64, 0.2))
        x = jnp.asarray(np.random.default_rng(3).poisson(rate, (batch, steps, n)).astype(np.float32))
        fd, fe = jitted(net, x, recurrent="dense"), jitted(net, x, recurrent="event")
        sd, se = np.asarray(fd()), np.asarray(fe())
        td, te = [], []
        for _ in range(repeats):                        # interleaved, so that both see the same load
            td.append(_median_time(fd, 1)); te.append(_median_time(fe, 1))
        rows.append({"batch": batch, "input_rate_per_step": rate, "neurons": n, "fan_in": 64,
                     "spikes_per_step": float((sd > 0).mean()),
                     "active_neurons_per_step": float((sd > 0).any(0).mean()),   # in some sample: the rows used
                     "dense_s": statistics.median(td), "event_s": statistics.median(te),
                     "speedup": statistics.median([a / b for a, b in zip(td, te)]),
                     "same_spikes": bool(np.array_equal(sd, se)), "differing_spikes": int((sd != se).sum())})
    return rows


def memory_case(quick):
    "Bytes per trace, and the peak RSS of a fresh process for three record settings."
    n_in, n, b, steps = (64, 64, 4, 50) if quick else DENSE + (STEPS,)
    per_trace = b * steps * n * 4
    rows = []
    for record in (False, ["imem", "spikes"], True):
        code = (f"import sys, resource, jax; sys.path.insert(0, {str(HERE)!r}); import bench_sim as b\n"
                f"net = b._net({n_in}, {n}, 'four'); x = b._raster(({b}, {steps}, {n_in}))\n"
                f"out, _, rec = net(x, record={record!r}); jax.block_until_ready(out)\n"
                "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, len(rec['1_DynapSim']))")
        r = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
        rss, k = r.stdout.split()[-2:]
        rows.append({"record": record, "traces": int(k), "trace_bytes": int(k) * per_trace,
                     "peak_rss_mib": int(rss) / 1024})
    strided = {"record_every": 10, "trace_bytes_each": b * math.ceil(steps / 10) * n * 4}
    return {"shape": [b, steps, n], "bytes_per_trace": per_trace, "runs": rows, "strided": strided}


def gpu_mode(a):
    import jax, jax.numpy as jnp
    try:
        dev = jax.devices("gpu")[0]
    except RuntimeError:
        if not a.allow_cpu:
            sys.exit("--device gpu: JAX sees no GPU here (install jax[cuda12] on a machine with one); "
                     "--allow-cpu runs the same cases on the CPU, for testing the mode")
        dev = jax.devices("cpu")[0]
    n_in, n, steps = (64, 64, 50) if a.quick else (1024, 1024, STEPS)
    res = {"device": str(dev), "platform": dev.platform, "jax": jax.__version__, "cases": []}
    for batch in ((4, 40) if a.quick else (100, 1000)):
        net = _net(n_in, n)
        with jax.default_device(dev):
            x = jax.device_put(jnp.asarray(_raster((batch, steps, n_in))), dev)
            f = jitted(net, x)
            t0 = time.perf_counter(); jax.block_until_ready(f()); first = time.perf_counter() - t0
            run = _median_time(f, a.rounds)
        res["cases"].append({"n_in": n_in, "n": n, "batch": batch, "steps": steps, "first_call_s": first,
                             "median_run_s": run})
        print(f"{dev.platform}: dense {n_in}->{n}, batch {batch} x {steps}: {1e3 * run:8.1f} ms  (first call {first:.2f} s)")
    if dev.platform == "gpu" and not a.quick:
        print_checks({"dense, batch 100, <= 50 ms on the GPU": res["cases"][0]["median_run_s"] <= 0.05})
    save_results(res, a.out.replace(".json", "_gpu.json") if a.out.endswith("sim.json") else a.out)
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes: checks that the script runs")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of the side-by-side table (medians are reported)")
    ap.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    ap.add_argument("--allow-cpu", action="store_true", help="--device gpu without a GPU: run its cases on the CPU")
    ap.add_argument("--out", default=str(HERE / "results" / "sim.json"))
    a = ap.parse_args(argv)
    if a.device == "cpu": os.environ.setdefault("JAX_PLATFORMS", "cpu")
    if a.device == "gpu": return gpu_mode(a)
    import jax
    from dynapse_nb.dynapsim import disable_compilation_cache
    disable_compilation_cache()    # this process compiles as the reference does (no persistent cache); `cache` below
    steps = 50 if a.quick else STEPS   # measures the cache in fresh interpreters
    table = [(60, 2, 4), (60, 64, 4), (64, 64, 4)] if a.quick else TABLE + SMALL
    reps = [3 if c[1] * c[2] > 10_000 else 20 for c in table] if not a.quick else [2] * len(table)
    nets = {c: _net(c[0], c[1]) for c in table}
    dense = table[-1] if a.quick else DENSE
    floor_c = {1: floor_fn(*dense, steps, 1), 2: floor_fn(*dense, steps, 2)}
    xd = __import__("jax.numpy", fromlist=["asarray"]).asarray(_raster((dense[2], steps, dense[0])))
    four = jitted(_net(dense[0], dense[1], "four"), xd)
    for f in (floor_c[1], floor_c[2], four): f()
    res = {"machine": platform.machine(), "cpu_count": os.cpu_count(), "jax": jax.__version__,
           "backend": jax.default_backend(), "quick": a.quick, "steps": steps, "rounds": [],
           "loadavg": [os.getloadavg()]}
    for r in range(a.rounds):
        rnd = {"reference": reference_cases(table, steps, reps), "ours": ours_cases(table, steps, reps, nets, first_call_of=(dense,))}
        rnd["floor_lumped_s"] = _median_time(floor_c[1], 3)
        rnd["floor_four_s"] = _median_time(floor_c[2], 3)
        rnd["four_s"] = _median_time(four, 3)
        rnd["loadavg"] = os.getloadavg()
        res["rounds"].append(rnd)
        print(f"round {r + 1}/{a.rounds} done, load average {rnd['loadavg'][0]:.1f}", flush=True)
    # first call of the dense case, ours in a fresh interpreter with an empty cache, the reference's own
    with tempfile.TemporaryDirectory() as tmp:
        res["first_call_dense"] = first_call(*dense, steps, tmp)
    res["cache"] = cache_case(a.quick)
    res["event"] = event_case(a.quick, 3)
    res["memory"] = memory_case(a.quick)
    res["loadavg"].append(os.getloadavg())

    # summary: per-round ratios, medians
    med = statistics.median
    rows, have_ref = [], all(isinstance(r["reference"], dict) and "error" not in r["reference"] for r in res["rounds"])
    for c in table:
        k = _key(c)
        ours = med([r["ours"][k]["median_run_s"] for r in res["rounds"]])
        ref = med([r["reference"][k]["median_run_s"] for r in res["rounds"]]) if have_ref else None
        ratio = med([r["ours"][k]["median_run_s"] / r["reference"][k]["median_run_s"] for r in res["rounds"]]) \
            if have_ref else None
        rows.append({"case": k, "ours_s": ours, "reference_s": ref, "ours_over_reference": ratio})
    lumped_dense = [r["ours"][_key(dense)]["median_run_s"] for r in res["rounds"]]
    summary = {"table": rows,
               "floor_lumped_s": med([r["floor_lumped_s"] for r in res["rounds"]]),
               "floor_four_s": med([r["floor_four_s"] for r in res["rounds"]]),
               "four_s": med([r["four_s"] for r in res["rounds"]]),
               "lumped_over_floor": med([t / r["floor_lumped_s"] for t, r in zip(lumped_dense, res["rounds"])]),
               "four_over_own_floor": med([r["four_s"] / r["floor_four_s"] for r in res["rounds"]]),
               "four_over_lumped": med([r["four_s"] / t for t, r in zip(lumped_dense, res["rounds"])])}
    summary["first_call_dense_s"] = med([r["ours"][_key(dense)]["first_call_s"] for r in res["rounds"]])
    summary["compile_dense_s"] = med([r["ours"][_key(dense)]["compile_s"] for r in res["rounds"]])
    if have_ref:
        summary["reference_first_call_dense_s"] = med([r["reference"][_key(dense)]["first_call_s"] for r in res["rounds"]])
        summary["reference_compile_dense_s"] = med([r["reference"][_key(dense)]["compile_s"] for r in res["rounds"]])
    res["summary"] = summary
    save_results(res, a.out)

    fmt = lambda v, s=1.0, p=2: f"{v * s:10.{p}f}" if isinstance(v, (int, float)) else f"{'-':>10s}"
    print(f"\n{'case N_in:N:B, ' + str(steps) + ' steps, jitted':40s} {'ref (ms)':>10s} {'ours (ms)':>10s} {'ours/ref':>10s}")
    for row in rows:
        print(f"{row['case']:40s} {fmt(row['reference_s'], 1e3)} {fmt(row['ours_s'], 1e3)} {fmt(row['ours_over_reference'])}")
    fc = res["first_call_dense"]
    print(f"{'first call incl. compile, dense (s)':40s} {fmt(summary.get('reference_first_call_dense_s'))} "
          f"{fmt(summary['first_call_dense_s'])}")
    print(f"{'  of which compile (s)':40s} {fmt(summary.get('reference_compile_dense_s'))} "
          f"{fmt(summary['compile_dense_s'])}")
    print(f"first module call net(x) in a fresh interpreter (JAX start-up, checks, compile, run): "
          f"{fc['first_call_s']:.2f} s")
    print(f"\nfloor (bare products), dense, lumped: {fmt(summary['floor_lumped_s'])} s; simulation / floor "
          f"{summary['lumped_over_floor']:.2f}")
    print(f"four synapses: {summary['four_s']:.2f} s, / its floor (2 channels) {summary['four_over_own_floor']:.2f}, "
          f"/ lumped {summary['four_over_lumped']:.2f}")
    print("\nevent-driven (sparse, fan-in 64):  neurons  batch  input rate  spikes/step  dense (s)  event (s)  speed-up"
          "  same spikes")
    for e in res["event"]:
        print(f"{'':34s} {e['neurons']:7d} {e['batch']:6d} {e['input_rate_per_step']:11.2f} "
              f"{e['spikes_per_step']:12.3f} {e['dense_s']:10.3f} {e['event_s']:10.3f} {e['speedup']:9.2f}  {e['same_spikes']}")
    print("\ncompile cache (fresh interpreter, first call; cold = compiles, warm = reads the cache):")
    for name, c in res["cache"].items():
        print(f"  {name:14s} cold {c['cold']['first_call_s']:6.2f} s   warm {c['warm']['first_call_s']:6.2f} s   "
              f"(later call {c['warm']['later_call_s']:.3f} s, warm overhead {c['warm']['compile_overhead_s']:.2f} s)")
    m = res["memory"]
    print(f"\nrecord memory, shape {m['shape']}: {m['bytes_per_trace'] / 2**20:.0f} MiB per trace "
          f"({m['strided']['trace_bytes_each'] / 2**20:.0f} MiB with record_every=10)")
    for row in m["runs"]:
        print(f"  record={row['record']!s:20s} {row['traces']} traces {row['trace_bytes'] / 2**20:7.0f} MiB, "
              f"peak RSS {row['peak_rss_mib']:7.0f} MiB")
    print(f"load average at start / end: {res['loadavg'][0][0]:.1f} / {res['loadavg'][-1][0]:.1f}")
    if not a.quick:
        small = [r for r in rows if r["case"] != _key(DENSE) and int(r["case"].split(":")[1]) <= 64]
        ev1 = [e for e in res["event"] if e["neurons"] == 1024 and e["batch"] == 1 and e["spikes_per_step"] <= 0.05]
        checks = {"dense (lumped) <= 1.5x the floor": summary["lumped_over_floor"] <= 1.5,
                  "four <= 1.3x lumped (dense)": summary["four_over_lumped"] <= 1.3,
                  "warm first call overhead <= 0.3 s (both cases)":
                      all(c["warm"]["compile_overhead_s"] <= 0.3 for c in res["cache"].values()),
                  "event-driven >= 3x dense at <= 5 % spikes (batch 1)": bool(ev1) and all(e["speedup"] >= 3 for e in ev1),
                  "event-driven: same spikes": all(e["same_spikes"] for e in res["event"])}
        if have_ref:
            checks["dense >= 2x the reference's throughput"] = rows[TABLE.index(DENSE)]["ours_over_reference"] <= 0.5
            checks["N=2..64, B=1..100: <= 0.8x the reference"] = all(r["ours_over_reference"] <= 0.8 for r in small)
            checks["first call, dense <= the reference's"] = \
                summary["first_call_dense_s"] <= summary["reference_first_call_dense_s"]
        print_checks(checks)
    return res


if __name__ == "__main__":
    main()
