"""The train layer across the simulator: the training forward pass equals the network, the chip copy reads the
currents the chip would, training (with and without the chip copy) is deterministic, the shipped tutorial weights
load and do their job in both models, bad input is refused, the benchmark script runs."""
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
from dynapse_nb.train import (TrainConfig, TUTORIAL_CONFIG, check_task, chip_copy, frr_report, initial_params,
                              initial_tutorial_weights, load_tutorial_weights, make_optimizer, make_update_step,
                              save_tutorial_weights, spike_counts, train, tutorial_data, tutorial_network,
                              tutorial_weights_info, weights_digest, set_params)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ds():
    return FrozenNoiseDataset(2, legacy_rng=True)


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


@pytest.mark.parametrize("chip_weight", [1.0, 0.0])
def test_training_is_deterministic_and_seeded(ds, chip_weight):
    cfg = TrainConfig(steps=12, eval_every=6, n_negatives=4, n_mismatch=2, val_seeds=(100, 101), val_negatives=4,
                      chip_weight=chip_weight)
    runs = [train(tutorial_network(*initial_tutorial_weights(0), synapse_model="lumped"), *ds.full_batch(), c,
                  progress=False) for c in (cfg, cfg, replace(cfg, seed=1))]
    w = [r.params["0_LinearJax"]["weight"] for r in runs]
    np.testing.assert_array_equal(w[0], w[1])
    assert not np.array_equal(w[0], w[2])
    assert runs[0].history == runs[1].history
    assert all(np.abs(r.params["0_LinearJax"]["weight"]).max() <= cfg.w_max for r in runs)
    assert all(r.params["1_DynapSim"]["w_rec"].max() <= cfg.w_rec_max for r in runs)
    if chip_weight:
        lo, hi = cfg.chip_scale_range
        assert all(lo <= r.chip_scale <= hi for r in runs) and "chip_frr_median" in runs[0].history[-1]
    else:
        assert all(r.chip_scale is None and "chip" not in r.params for r in runs)


def test_chip_copy_reads_the_currents_the_chip_would():
    net = tutorial_network(*initial_tutorial_weights(0), synapse_model="lumped", Itau_syn=2e-11, Igain_syn=3e-9,
                           Idc=1e-12)
    chip = chip_copy(net, "four", gaba_gain=0.25, percent_mismatch=0.05, rng_key=3)
    dyn = chip[1]
    assert dyn.synapse_model.name == "four" and dyn.percent_mismatch == 0.05
    for s in ("ampa", "nmda", "gaba", "shunt"):
        np.testing.assert_allclose(getattr(dyn, f"Itau_{s}"), 2e-11)
    for s in ("ampa", "nmda", "shunt"):
        np.testing.assert_allclose(getattr(dyn, f"Igain_{s}"), 3e-9)
    np.testing.assert_allclose(dyn.Igain_gaba, 0.75e-9)
    np.testing.assert_allclose(dyn.Idc, 1e-12)
    np.testing.assert_array_equal(chip[0].weight, net[0].weight)
    np.testing.assert_array_equal(dyn.w_rec, net[1].w_rec)
    four = tutorial_network(*initial_tutorial_weights(0), synapse_model="four")
    assert chip_copy(four)[1].synapse_model.name == "four"          # a four-synapse network copies to itself
    with pytest.raises(ValueError, match="gaba_gain must be"):
        chip_copy(net, gaba_gain=-1)
    with pytest.raises(ValueError, match="needs a model with a GABA synapse"):
        chip_copy(net, "lumped", gaba_gain=0.5)


def test_no_chip_copy_for_a_network_of_the_chip_model(ds):
    "A four-synapse network is already the chip: no copy, no scale parameter."
    net = tutorial_network(*initial_tutorial_weights(0), synapse_model="four")
    cfg = TrainConfig(steps=2, n_negatives=2, n_mismatch=1)
    p = initial_params(net, cfg)
    assert set(p) == {"0_LinearJax", "1_DynapSim"}
    upd = make_update_step(net, *ds.full_batch(), cfg)
    _, _, loss, parts = upd(p, make_optimizer(cfg).init(p), 0)
    assert np.isfinite(float(loss)) and "match" not in parts


def test_set_params_and_save_load_roundtrip(ds, tmp_path):
    net = tutorial_network(*initial_tutorial_weights(0), synapse_model="lumped")
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
    assert info["chip"] == dict(synapse_model="four", gaba_gain=res.config.chip_gaba_gain,
                                weight_scale=round(res.chip_scale, 6))


def test_shipped_weights_load_and_pass_a_quick_frr_check():
    w_in, w_rec = load_tutorial_weights()
    assert (w_in.shape, w_rec.shape, w_in.dtype, w_rec.dtype) == ((60, 2), (2, 2), np.float32, np.float32)
    assert np.abs(w_in).max() <= TUTORIAL_CONFIG.w_max and w_rec.max() <= TUTORIAL_CONFIG.w_rec_max
    info = tutorial_weights_info()
    assert TrainConfig(**info["config"]) == TUTORIAL_CONFIG        # the file says how to make it again
    assert info["digest"] == weights_digest(w_in, w_rec)
    lo, hi = TUTORIAL_CONFIG.chip_scale_range
    assert info["chip"]["synapse_model"] == "four" and info["chip"]["gaba_gain"] == TUTORIAL_CONFIG.chip_gaba_gain
    assert lo <= info["chip"]["weight_scale"] <= hi
    s = frr_report(w_in, w_rec, seeds=[0], n_test=30, synapse_model="lumped")["summary"]   # chip 0, 5 % mismatch
    assert s["train_right_winner"] == [1, 1] and s["synapse_model"] == "lumped"
    assert min(s["train_frr_min"]) >= 8
    assert s["test_frr_median"] <= 1.2 and s["test_n_nan"] == 0
    c = frr_report(w_in, w_rec, seeds=[0], n_test=30, chip=info["chip"])["summary"]        # its chip copy
    assert c["train_right_winner"] == [1, 1] and c["synapse_model"] == "four"
    assert min(c["train_frr_min"]) >= 2 and c["test_frr_median"] <= 1.5


def test_tutorial_data_are_the_rockpool_tutorials():
    "legacy_rng=True: numpy's RandomState(seed).poisson, as the original tutorial drew its frozen noise."
    tr, te = tutorial_data(3)
    x = np.random.RandomState(2022).poisson(50 * 1e-3, (2, 500, 60))
    np.testing.assert_array_equal(tr.input_raster, x)
    assert te.input_raster.shape == (3, 500, 60)


def test_frr_report_counts_silent_losers():
    w_in = np.full((60, 2), 1.0, np.float32); w_in[:, 1] = -5.0      # neuron 1 only ever inhibited: silent
    s = frr_report(w_in, np.zeros((2, 2), np.float32), seeds=[0, 1], n_test=5, synapse_model="lumped")["summary"]
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
    net = tutorial_network(*initial_tutorial_weights(0), synapse_model="lumped")
    args = dict(data=ds.input_raster, labels=ds.labels) | bad
    with pytest.raises(ValueError, match=msg):
        check_task(net, args["data"], args["labels"])
    with pytest.raises(ValueError, match=msg):
        train(net, args["data"], args["labels"], TrainConfig(steps=1), progress=False)


@pytest.mark.parametrize("lr", [0.0, -0.01, float("nan")])
def test_learning_rate_must_be_positive(lr):
    with pytest.raises(ValueError, match="lr"):
        TrainConfig(lr=lr)


@pytest.mark.parametrize("bad, msg", [
    (dict(chip_gaba_gain=0.0), "chip_gaba_gain"), (dict(chip_gaba_gain=float("inf")), "chip_gaba_gain"),
    (dict(chip_scale_range=(0.5,)), "chip_scale_range"), (dict(chip_scale_range=(2.0, 8.0)), "low <= 1 <= high"),
    (dict(chip_scale_range=(0.0, 8.0)), "low <= 1 <= high"), (dict(chip_weight=-1.0), "chip_weight"),
    (dict(w_match=float("nan")), "w_match"), (dict(w_rec_max=float("inf")), "w_rec_max"),
    (dict(chip_model="fuor"), "did you mean 'four'"),
])
def test_bad_chip_settings_raise(bad, msg):
    with pytest.raises(ValueError, match=msg):
        TrainConfig(**bad)


def test_wrong_network_size_or_kind(ds):
    with pytest.raises(ValueError, match="3 output neurons"):
        train(Sequential(LinearJax((60, 3)), DynapSim(3, synapse_model="lumped")), *ds.full_batch(), progress=False)
    with pytest.raises(TypeError, match="supports Sequential"):
        train(Sequential(LinearJax((60, 2))), *ds.full_batch(), progress=False)


def test_bench_frr_smoke(tmp_path):
    out = tmp_path / "frr.json"
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_frr.py"), "--seeds", "2", "--n-test", "8",
                        "--skip-train", "--out", str(out)], capture_output=True, text=True, cwd=ROOT,
                       env={"JAX_PLATFORMS": "cpu", "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    d = json.loads(out.read_text())
    assert d["simulation"]["summary"]["n_seeds"] == 2 and "passes" in d["simulation"] and "training" not in d
    assert d["simulation"]["summary"]["synapse_model"] == "lumped"
    for key in ("board", "board_gaba_gain"):                           # (b) as specified and (b'): one entry per chip
        assert len(d[key]["chips"]) == 2 and set(d[key]["passes"]) >= {"train_frr_median", "test_frr_median"}
    assert d["board_gaba_gain"]["gaba_gain"] == d["weights"]["chip"]["gaba_gain"]
