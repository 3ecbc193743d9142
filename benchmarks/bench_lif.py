"""Benchmark: agreement of trained LIF networks with their DPI conversion (`dynapse_nb.lif.dynapsim_from_lif`).

    JAX_PLATFORMS=cpu .venv/bin/python benchmarks/bench_lif.py [--quick] [--out FILE]

For each case, the tutorial's frozen-noise network as an LIF network (60 inputs -> 2 LIF neurons that inhibit each
other, `lif.lif_tutorial_network`) is trained with `dynapse_nb.train.train` (no mismatch: an LIF has none) on
`FrozenNoiseDataset(2, seed=2022, legacy_rng=False)`, then converted with `dynapsim_from_lif` (synapse model
"four"). Both networks run on the same test set:

* 200 noisy copies of the two frozen patterns (`lif.noisy_patterns`: each spike deleted with probability 0.2,
  10 Hz of Poisson spikes added; seed 1), labelled by their pattern;
* the tutorial's 100 test samples of fresh noise (`FrozenNoiseDataset(100, seed=2023)`), unlabelled.

Metrics (`lif.agreement`): Pearson r of the spike counts per (sample, output neuron), LIF against converted, over
all 300 samples, and per neuron; mean |count difference|; the classification accuracy of both on the noisy
patterns (the neuron with more spikes names the pattern; a tie is wrong). The main case (tau_mem 20 ms, tau_syn
10 ms) is also run through the deployment path -- `mapper`, `quantize`, `config_from_specification`, the
`VirtualBoard` (the chip's own mismatch, four synapses) -- and on the converted network under 5 % simulated
mismatch (5 chips), with the same metrics against the LIF. `--quick`: the main case only, 100 training steps, 40
test samples, no board. Prints a table; writes ``benchmarks/results/lif.json``.
"""
from __future__ import annotations

import argparse, platform, sys, time, warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import print_checks, save_results  # noqa: E402

import numpy as np
import jax

from dynapse_nb.lif import agreement, dynapsim_from_lif, lif_tutorial_network, noisy_patterns
from dynapse_nb.spikes import FrozenNoiseDataset
from dynapse_nb.train import TrainConfig, set_params, train

HERE = Path(__file__).resolve().parent
CASES = {"tau_mem20_syn10": (20e-3, 10e-3), "tau_mem10_syn10": (10e-3, 10e-3), "tau_mem40_syn10": (40e-3, 10e-3),
         "tau_mem20_syn5": (20e-3, 5e-3)}
TARGETS = dict(pearson_r=0.95, accuracy_ratio=0.95)


def test_set(n_per_class: int, n_noise: int):
    x, _ = FrozenNoiseDataset(2, seed=2022, legacy_rng=False).full_batch()
    pats, labels = noisy_patterns(x, n_per_class, seed=1)
    noise = FrozenNoiseDataset(n_noise, seed=2023).input_raster
    return np.concatenate([pats, noise]), labels


def counts(net, X, batch: int = 50) -> np.ndarray:
    return np.concatenate([np.asarray(net(X[i:i + batch])[0]).sum(1) for i in range(0, len(X), batch)])


def metrics(c_lif, c_other, labels) -> dict:
    res = agreement(c_lif, c_other, labels)
    res["pearson_r_per_neuron"] = [float(np.corrcoef(c_lif[:, j], c_other[:, j])[0, 1]) for j in range(c_lif.shape[1])]
    return res


def run_case(name: str, tau_mem: float, tau_syn: float, steps: int, X, labels, board: bool) -> dict:
    x, y = FrozenNoiseDataset(2, seed=2022, legacy_rng=False).full_batch()
    net = lif_tutorial_network(tau_mem=tau_mem, tau_syn=tau_syn)
    cfg = TrainConfig(steps=steps, lr=0.02, percent_mismatch=0.0, n_mismatch=1, eval_every=50, val_seeds=(0,))
    t0 = time.perf_counter()
    result = train(net, x, y, cfg, progress=False)
    t_train = time.perf_counter() - t0
    set_params(net, result.params)
    t0 = time.perf_counter()
    dnet = dynapsim_from_lif(net)
    t_convert = time.perf_counter() - t0
    c_lif, c_dpi = counts(net, X), counts(dnet, X)
    res = dict(tau_mem=tau_mem, tau_syn=tau_syn, train_steps=result.stop_step, train_s=round(t_train, 2),
               convert_s=round(t_convert, 4), Iscale=float(dnet[1].Iscale), Ispkthr=float(dnet[1].Ispkthr[0]),
               converted=metrics(c_lif, c_dpi, labels))
    if board:
        from dynapse_nb.dynapsim import DynapSim
        from dynapse_nb.nn import Sequential
        mm = []
        for seed in range(5):
            d = dnet[1]
            chip = Sequential(dnet[0], DynapSim(d.shape, **{k: getattr(d, k) for k in d.param_names}, Iscale=d.Iscale,
                                                dt=d.dt, synapse_model="four", has_rec=True, w_rec=d.w_rec,
                                                percent_mismatch=0.05, rng_key=seed))
            mm.append(metrics(c_lif, counts(chip, X), labels))
        res["converted_mismatch_5pct"] = {k: float(np.mean([m[k] for m in mm])) for k in
                                          ("pearson_r", "mean_abs_diff", "accuracy_a", "accuracy_b", "mean_count_b")}
        res["converted_mismatch_5pct"]["accuracy_b_min"] = float(min(m["accuracy_b"] for m in mm))
        from dynapse_nb.mapping import mapper, neuron_locations
        from dynapse_nb.quantize import quantize
        from dynapse_nb.from_spec import config_from_specification
        from dynapse_nb.board import DynapseSamna, VirtualBoard
        t0 = time.perf_counter()
        spec = mapper(net.as_graph())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            spec.update(quantize(**spec))
        config = config_from_specification(**spec)
        se2 = DynapseSamna(VirtualBoard(), **config, locations=neuron_locations(spec))
        out, _, rec = se2(X, record=True)
        res["board_s"] = round(time.perf_counter() - t0, 2)
        res["board"] = metrics(c_lif, np.asarray(out).sum(1), labels)
        res["board"]["outputs"] = [list(a) for a in rec["locations"].outputs]
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the main case only, short training, few samples, no board")
    ap.add_argument("--out", default=str(HERE / "results" / "lif.json"))
    args = ap.parse_args()
    n_per_class, n_noise, steps = (10, 20, 100) if args.quick else (100, 100, 300)
    X, labels = test_set(n_per_class, n_noise)
    cases = {k: v for k, v in CASES.items() if not args.quick or k == "tau_mem20_syn10"}
    results = {}
    for name, (tm, ts) in cases.items():
        results[name] = run_case(name, tm, ts, steps, X, labels, board=not args.quick and name == "tau_mem20_syn10")
        c = results[name]["converted"]
        print(f"{name:18s} r {c['pearson_r']:.3f} (per neuron {', '.join(f'{v:.3f}' for v in c['pearson_r_per_neuron'])})"
              f"  acc LIF {c['accuracy_a']:.3f}  acc DPI {c['accuracy_b']:.3f}  mean counts {c['mean_count_a']:.1f} / "
              f"{c['mean_count_b']:.1f}  |diff| {c['mean_abs_diff']:.1f}  (train {results[name]['train_s']} s)")
        for extra in ("converted_mismatch_5pct", "board"):
            if extra in results[name]:
                e = results[name][extra]
                print(f"{'  ' + extra:18s} r {e['pearson_r']:.3f}  acc LIF {e['accuracy_a']:.3f}  acc DPI "
                      f"{e['accuracy_b']:.3f}  mean count {e['mean_count_b']:.1f}  |diff| {e['mean_abs_diff']:.1f}")
    checks = {f"{k}: Pearson r >= {TARGETS['pearson_r']}": v["converted"]["pearson_r"] >= TARGETS["pearson_r"]
              for k, v in results.items()}
    checks.update({f"{k}: DPI accuracy >= {TARGETS['accuracy_ratio']} x LIF accuracy":
                   v["converted"]["accuracy_b"] >= TARGETS["accuracy_ratio"] * v["converted"]["accuracy_a"]
                   for k, v in results.items()})
    print_checks(checks)
    save_results(dict(command="JAX_PLATFORMS=cpu .venv/bin/python benchmarks/bench_lif.py" + (" --quick" if args.quick else ""),
                      quick=args.quick, n_test=len(X), n_labelled=len(labels), train_steps=steps, cases=results,
                      targets=TARGETS, checks=checks, jax=jax.__version__, python=platform.python_version(),
                      machine=platform.machine()), args.out)


if __name__ == "__main__":
    main()
