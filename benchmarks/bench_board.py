"""Benchmark: the tutorial network on the VirtualBoard -- spike-for-spike equality with the readback simulation,
and the wall time of one 500 ms sample.

    JAX_PLATFORMS=cpu .venv/bin/python benchmarks/bench_board.py [--repeat 30] [--n-test 20] [--out PATH]

Protocol (issue 5): the tutorial network (60 inputs -> 2 DynapSim neurons with recurrence) with the shipped tutorial
weights (`dynapse_nb.train.load_tutorial_weights`; a fixed random 60 -> 2 network when they are missing) is taken
through the pipeline -- `mapper` -> `quantize` -> `config_from_specification` (4-chip board) -- at the network's own
Iscale (the seed's `Iscale x 50` does not fit the bias range with these weights). The same configuration then runs
  * on `VirtualBoard()` (no mismatch, no temperature) through `DynapseSamna(board, **cfg)`, and
  * in the readback simulation `dynapsim_net_from_config(**cfg)`,
on the two training samples `FrozenNoiseDataset(2)` and `--n-test` test samples `FrozenNoiseDataset(n, seed=2023)`
(500 ms at dt = 1 ms, 60 channels at 50 Hz). Target: identical output rasters (every spike in the same bin of the
same neuron), and one 500 ms sample on the virtual board in <= 50 ms wall time (median of --repeat calls after one
warm-up call; the warm-up includes JAX compilation and is reported separately). Wall clock, 2 shared CPU cores.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np
import jax

from dynapse_nb.board import DynapseSamna, VirtualBoard
from dynapse_nb.from_spec import config_from_specification
from dynapse_nb.dynapsim import DynapSim
from dynapse_nb.mapping import mapper
from dynapse_nb.nn import LinearJax, Sequential
from dynapse_nb.quantize import quantize
from dynapse_nb.readback import dynapsim_net_from_config
from dynapse_nb.spikes import FrozenNoiseDataset


def tutorial_weights():
    try:
        from dynapse_nb.train import load_tutorial_weights
        return (*load_tutorial_weights(), "dynapse_nb.train.load_tutorial_weights()")
    except Exception as e:                                   # weights not shipped yet: a fixed random network
        rng = np.random.default_rng(0)
        return (rng.normal(0.4, 3.0, (60, 2)).astype(np.float32), np.array([[0, -5.0], [-5.0, 0]], np.float32),
                f"random 60 -> 2 (numpy seed 0; tutorial weights unavailable: {e})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--n-test", type=int, default=20)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "board.json"))
    args = ap.parse_args()

    w_in, w_rec, source = tutorial_weights()
    net = Sequential(LinearJax((60, 2), weight=w_in), DynapSim((2, 2), has_rec=True, w_rec=w_rec))
    t0 = time.perf_counter()
    spec = mapper(net.as_graph())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spec.update(quantize(**spec))
    cfg = config_from_specification(**spec)
    t_deploy = time.perf_counter() - t0

    board = VirtualBoard()
    t0 = time.perf_counter()
    se2 = DynapseSamna(board, **cfg)
    t_apply = time.perf_counter() - t0
    net_q = dynapsim_net_from_config(**cfg)

    x = np.concatenate([FrozenNoiseDataset(2).input_raster, FrozenNoiseDataset(args.n_test, seed=2023).input_raster])
    t0 = time.perf_counter(); out_b, _, rec = se2(x, record=True); t_batch = time.perf_counter() - t0
    out_s = np.asarray(net_q(x)[0])
    equal = bool(np.array_equal(out_b, out_s))
    n_spikes = int(out_s.sum())
    n_diff = int(np.abs(out_b - out_s).sum())
    assert equal, f"virtual board and readback simulation differ by {n_diff} spikes out of {n_spikes}"

    sample = x[0]
    t0 = time.perf_counter(); se2(sample); t_first = time.perf_counter() - t0   # compiled already by the batch
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter(); se2(sample, record=True); times.append(time.perf_counter() - t0)
    net_q.reset_state()
    sim_times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter(); net_q.reset_state(); jax.block_until_ready(net_q(sample)[0]); sim_times.append(time.perf_counter() - t0)
    med, p90 = float(np.median(times)), float(np.percentile(times, 90))
    res = dict(
        network=source, n_samples=int(len(x)), sample_duration_s=0.5, dt_s=1e-3, n_input_events_sample0=rec["n_input_events"][0],
        spikes_readback=n_spikes, spikes_board=int(out_b.sum()), spike_for_spike_equal=equal, n_differing_spikes=n_diff,
        counts_per_sample_first4=out_s.sum(1)[:4].astype(int).tolist(),
        sample_wall_s_median=med, sample_wall_s_p90=p90, sample_wall_s_min=float(np.min(times)), target_wall_s=0.05,
        meets_target=med <= 0.05, readback_sim_wall_s_median=float(np.median(sim_times)),
        first_call_after_batch_s=t_first, batch_wall_s=t_batch, apply_configuration_s=t_apply, deploy_s=t_deploy,
        repeat=args.repeat, python=platform.python_version(), jax=jax.__version__, numpy=np.__version__,
        machine=platform.machine(), cpus=os.cpu_count())
    print(f"network: {source}")
    print(f"{len(x)} samples x 500 ms: board {int(out_b.sum())} spikes, readback {n_spikes}; spike for spike equal: {equal}")
    print(f"{'what':44s} {'seconds':>10s}")
    for k in ("sample_wall_s_median", "sample_wall_s_p90", "sample_wall_s_min", "readback_sim_wall_s_median",
              "apply_configuration_s", "batch_wall_s", "deploy_s"):
        print(f"{k:44s} {res[k]:10.4f}")
    print(f"target: median <= 0.050 s -> {'met' if res['meets_target'] else 'NOT met'}")
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
