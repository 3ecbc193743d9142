"""Benchmark: how long one slider move of the Iscale panel takes, from setting the value to a redrawn picture.

The panel of `nbs/18_widgets.ipynb` on the quick-start network (tutorial weights, 5 % mismatch) and its two
500 ms training samples. Each move sets `panel.sliders["Iscale"].value` programmatically -- the same observer
chain a browser's slider message runs -- and the clock stops when the call returns: by then the target has
re-run both samples, the FRRs and the panel's state are updated, and the figure has been redrawn on its Agg
canvas and encoded as the PNG the Image widget shows. Target: <= 100 ms per move on 2 cores for the float network.

Moves go through N_MOVES distinct factors in 0.3 .. 3 (after WARMUP moves that compile the simulator). The
quantized network and the virtual board are timed the same way, with fewer moves (the board reconfigures on
every move). Prints a table; writes benchmarks/results/widgets.json (`--out`); `--moves N` scales every count
(a smoke run: `--moves 2`).
"""
import argparse, json, os, platform, time
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")
import numpy as np
import jax

from dynapse_nb.nn import LinearJax, Sequential
from dynapse_nb.dynapsim import DynapSim
from dynapse_nb.spikes import FrozenNoiseDataset
from dynapse_nb.train import load_tutorial_weights
from dynapse_nb.widgets import IscalePanel

WARMUP, N_MOVES, TARGET_MS = 3, 40, 100.0
MOVES = {"float network": N_MOVES, "quantized network": 20, "virtual board": 10}


def time_moves(panel, n):
    rng = np.random.default_rng(0)
    values = rng.permutation(np.geomspace(0.3, 3.0, n + WARMUP))
    wall, run, draw = [], [], []
    for k, v in enumerate(values):
        before = panel.n_updates
        t0 = time.perf_counter()
        panel.sliders["Iscale"].value = float(v)
        dt = time.perf_counter() - t0
        assert panel.n_updates == before + 1 and panel.error is None, panel.message
        assert abs(panel.factors["Iscale"] - v) < 1e-12
        if k >= WARMUP:
            wall.append(dt); run.append(panel.timings["run"]); draw.append(panel.timings["draw"])
    ms = lambda a: 1e3 * np.asarray(a)
    w = ms(wall)
    return dict(n_moves=n, median_ms=float(np.median(w)), p90_ms=float(np.percentile(w, 90)), max_ms=float(w.max()),
                run_median_ms=float(np.median(ms(run))), draw_median_ms=float(np.median(ms(draw))))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--moves", type=int, default=N_MOVES, help=f"moves on the float network (default {N_MOVES})")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "widgets.json"))
    args = ap.parse_args(argv)
    w_in, w_rec = load_tutorial_weights()
    net = Sequential(LinearJax((60, 2), weight=w_in),
                     DynapSim((2, 2), has_rec=True, w_rec=w_rec, percent_mismatch=0.05, dt=1e-3))
    train = FrozenNoiseDataset(2)
    out = {}
    for target, n in MOVES.items():
        n = max(1, round(n * args.moves / N_MOVES))
        panel = IscalePanel(net, train, targets=(target,))
        out[target] = time_moves(panel, n)
        panel.close()
    print(f"{'target':18s} {'moves':>5s} {'median':>8s} {'p90':>8s} {'max':>8s} {'run':>8s} {'draw':>8s}  (ms)")
    for t, r in out.items():
        print(f"{t:18s} {r['n_moves']:5d} {r['median_ms']:8.1f} {r['p90_ms']:8.1f} {r['max_ms']:8.1f} "
              f"{r['run_median_ms']:8.1f} {r['draw_median_ms']:8.1f}")
    f = out["float network"]
    print(f"float network: median {f['median_ms']:.1f} ms, p90 {f['p90_ms']:.1f} ms per move "
          f"(target <= {TARGET_MS:.0f} ms): {'met' if f['p90_ms'] <= TARGET_MS else 'NOT met'}")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    out.update(target_ms=TARGET_MS, met=bool(f["p90_ms"] <= TARGET_MS), warmup_moves=WARMUP, cores=cores,
               load_average=list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
               python=platform.python_version(), jax=jax.__version__, numpy=np.__version__,
               machine=platform.machine(), processor=platform.processor() or None)
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1) + "\n")
    return out


if __name__ == "__main__":
    main()
