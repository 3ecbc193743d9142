"""The train layer across the simulator: the training forward pass equals the network, training is deterministic,
the shipped tutorial weights load and do their job, bad input is refused, the benchmark script runs."""
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import jax
import pytest

from dynapse_nb.nn import LinearJax, Sequential
from dynapse_nb.dynapsim import DynapSim
from dynapse_nb.spikes import FrozenNoiseDataset
from dynapse_nb.train import (TrainConfig, TUTORIAL_CONFIG, check_task, frr_report, initial_tutorial_weights,
                              load_tutorial_weights, save_tutorial_weights, spike_counts, train, tutorial_network,
                              tutorial_weights_info, weights_digest, set_params)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ds():
    return FrozenNoiseDataset(2)


@pytest.mark.parametrize("model", ["four", "lumped"])
def test_spike_counts_equal_the_network_two_layers(model):
    "A 60 -> 5 -> 2 network with recurrence, mismatch and typed synapses: counts equal the network's own, exactly."
    rng = np.random.default_rng(3)
    x = rng.poisson(0.05, (4, 300, 60)).astype(np.float32)
    kw = dict(synapse_model=model, percent_mismatch=0.05)
    st = dict(syn_types=rng.integers(0, 4, (60, 5))) if model == "four" else {}
    net = Sequential(LinearJax((60, 5), weight=rng.normal(0.8, 1.5, (60, 5)), **st),
                     DynapSim((5, 5), has_rec=True, w_rec=rng.normal(0, 3, (5, 5)), rng_key=1, **kw),
                     LinearJax((5, 2), weight=rng.normal(4, 3, (5, 2))),
                     DynapSim((2, 2), has_rec=True, w_rec=rng.normal(0, 3, (2, 2)), rng_key=2, **kw))
    direct = np.asarray(net(x)[0]).sum(1)
    assert direct.sum() > 0
    np.testing.assert_array_equal(np.asarray(spike_counts(net, net.parameters(), x)), direct)
    g = jax.grad(lambda p: spike_counts(net, p, x).sum())(net.parameters())
    assert all(np.isfinite(np.asarray(v)).all() for v in jax.tree_util.tree_leaves(g))


def test_training_is_deterministic_and_seeded(ds):
    cfg = TrainConfig(steps=12, eval_every=6, n_negatives=4, n_mismatch=2, val_seeds=(100, 101), val_negatives=4)
    runs = [train(tutorial_network(*initial_tutorial_weights(0)), *ds.full_batch(), c, progress=False)
            for c in (cfg, cfg, replace(cfg, seed=1))]
    w = [r.params["0_LinearJax"]["weight"] for r in runs]
    np.testing.assert_array_equal(w[0], w[1])
    assert not np.array_equal(w[0], w[2])
    assert runs[0].history == runs[1].history
    assert all(np.abs(r.params["1_DynapSim"]["w_rec"]).max() <= cfg.w_max for r in runs)


def test_set_params_and_save_load_roundtrip(ds, tmp_path):
    net = tutorial_network(*initial_tutorial_weights(0))
    res = train(net, *ds.full_batch(), TrainConfig(steps=3, eval_every=3, n_negatives=2, n_mismatch=1,
                                                   val_seeds=(100,), val_negatives=2), progress=False)
    w0 = net[0].weight.copy()
    np.testing.assert_array_equal(net[0].weight, w0)                 # train leaves the network unchanged
    set_params(net, res.params)
    np.testing.assert_array_equal(net[0].weight, res.params["0_LinearJax"]["weight"])
    p = save_tutorial_weights(res, tmp_path / "w.npz")
    w_in, w_rec = load_tutorial_weights(p)
    np.testing.assert_array_equal(w_in, res.params["0_LinearJax"]["weight"])
    info = tutorial_weights_info(p)
    assert TrainConfig(**info["config"]) == res.config and info["digest"] == weights_digest(w_in, w_rec)


def test_shipped_weights_load_and_pass_a_quick_frr_check():
    w_in, w_rec = load_tutorial_weights()
    assert (w_in.shape, w_rec.shape, w_in.dtype, w_rec.dtype) == ((60, 2), (2, 2), np.float32, np.float32)
    assert max(np.abs(w_in).max(), np.abs(w_rec).max()) <= 15.0
    info = tutorial_weights_info()
    assert TrainConfig(**info["config"]) == TUTORIAL_CONFIG        # the file says how to make it again
    assert info["digest"] == weights_digest(w_in, w_rec)
    s = frr_report(w_in, w_rec, seeds=[0], n_test=30)["summary"]  # one chip (seed 0), 5 % mismatch
    assert s["train_right_winner"] == [1, 1]
    assert min(s["train_frr_min"]) >= 3
    assert s["test_frr_median"] <= 1.3 and s["test_n_nan"] == 0


def test_frr_report_counts_silent_losers():
    w_in = np.full((60, 2), 1.0, np.float32); w_in[:, 1] = -5.0      # neuron 1 only ever inhibited: silent
    s = frr_report(w_in, np.zeros((2, 2), np.float32), seeds=[0, 1], n_test=5)["summary"]
    assert s["train_n_inf"] == [2, 2] and s["test_n_inf"] == 10   # 2 chips x 5 test samples
    assert s["train_right_winner"] == [2, 0]                         # the FRR alone would not show the wrong winner


@pytest.mark.parametrize("bad, msg", [
    (dict(labels=np.eye(2)[[0, 1, 1]]), "labels has 3"),
    (dict(data=np.zeros((0, 500, 60)), labels=np.zeros((0, 2))), "empty"),
    (dict(labels=np.eye(3)[:2]), "2 output neurons"),
    (dict(labels=np.array([0, 2])), "classes 0..1"),
    (dict(labels=np.full((2, 2), 0.7)), "one-hot"),
    (dict(data=np.zeros((2, 500, 61))), "61 channels"),
    (dict(data=np.full((2, 500, 60), np.nan)), "finite"),
])
def test_bad_tasks_raise_value_errors(ds, bad, msg):
    net = tutorial_network(*initial_tutorial_weights(0))
    args = dict(data=ds.input_raster, labels=ds.labels) | bad
    with pytest.raises(ValueError, match=msg):
        check_task(net, args["data"], args["labels"])
    with pytest.raises(ValueError, match=msg):
        train(net, args["data"], args["labels"], TrainConfig(steps=1), progress=False)


@pytest.mark.parametrize("lr", [0.0, -0.01, float("nan")])
def test_learning_rate_must_be_positive(lr):
    with pytest.raises(ValueError, match="lr"):
        TrainConfig(lr=lr)


def test_wrong_network_size_or_kind(ds):
    with pytest.raises(ValueError, match="3 output neurons"):
        train(Sequential(LinearJax((60, 3)), DynapSim(3)), *ds.full_batch(), progress=False)
    with pytest.raises(TypeError, match="supports Sequential"):
        train(Sequential(LinearJax((60, 2))), *ds.full_batch(), progress=False)


def test_bench_frr_smoke(tmp_path):
    out = tmp_path / "frr.json"
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_frr.py"), "--seeds", "2", "--n-test", "8",
                        "--skip-train", "--out", str(out)], capture_output=True, text=True, cwd=ROOT,
                       env={"JAX_PLATFORMS": "cpu", "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    d = json.loads(out.read_text())
    assert d["ours"]["summary"]["n_seeds"] == 2 and "passes" in d["ours"] and "training" not in d
