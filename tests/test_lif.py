"""The LIF layer across the others: the training layer's forward pass equals the LIF network, the mapper's
conversion equals `dynapsim_from_lif`, bad LIF input is refused by every entry point before any work, and the
benchmark script's smoke run."""
import json, subprocess, sys
from pathlib import Path

import numpy as np
import pytest

from dynapse_nb.nn import LinearJax, Sequential, Graph, NeuronPopulation, LinearWeights
from dynapse_nb.dynapsim import DynapSim
from dynapse_nb.lif import LIF, dynapsim_from_lif, dynapsim_graph, lif_tutorial_network, check_lif_parameters
from dynapse_nb.mapping import mapper, neuron_locations
from dynapse_nb.train import check_network, spike_counts, sample_sim_params, TrainConfig, train
from dynapse_nb.spikes import poisson_spike_train

ROOT = Path(__file__).resolve().parents[1]


def test_training_forward_pass_equals_the_network():
    net = lif_tutorial_network()
    x = poisson_spike_train(60, 0.2, 50, batch_size=3, seed=4)
    want = np.asarray(net(x)[0]).sum(1)
    sims = sample_sim_params(net, __import__("jax").random.PRNGKey(0), 0.05)    # mismatch draws leave an LIF alone
    got = np.asarray(spike_counts(net, net.parameters(), x, sims))
    np.testing.assert_array_equal(got, want)


def test_train_accepts_lif_and_still_refuses_other_modules():
    assert len(check_network(lif_tutorial_network())) == 1
    with pytest.raises(TypeError, match="train supports"):
        check_network(Sequential(LinearJax((3, 2)), LinearJax((2, 2))))


def test_two_layer_lif_network_trains_and_converts():
    rng = np.random.default_rng(0)
    net = Sequential(LinearJax((10, 6), weight=rng.uniform(0, 0.4, (10, 6))), LIF(6, threshold=np.linspace(0.8, 1.2, 6)),
                     LinearJax((6, 2), weight=rng.uniform(0, 0.5, (6, 2))), LIF(2, w_rec=-np.eye(2)[::-1]))
    x = poisson_spike_train(10, 0.1, 60, batch_size=2, seed=1)
    res = train(net, x, np.eye(2), TrainConfig(steps=3, percent_mismatch=0.0, n_mismatch=1, eval_every=0),
                progress=False)
    assert set(res.params) == {"0_LinearJax", "1_LIF", "2_LinearJax", "3_LIF"}
    dnet = dynapsim_from_lif(net)
    assert [type(m).__name__ for m in dnet] == ["LinearJax", "DynapSim", "LinearJax", "DynapSim"]
    assert dnet[1].Iscale == dnet[3].Iscale                                   # one Iscale for the chip
    # per-neuron thresholds: the columns of the first layer's weights scale as 1 / threshold
    ratio = np.asarray(dnet[0].weight) / np.asarray(net[0].weight)
    np.testing.assert_allclose(ratio[0] * np.linspace(0.8, 1.2, 6), ratio[0, 0] * 0.8, rtol=1e-5)
    spec, spec_c = mapper(net.as_graph()), mapper(dnet.as_graph())
    np.testing.assert_array_equal(spec["weights_rec"], spec_c["weights_rec"])
    np.testing.assert_array_equal(spec["core_map"], spec_c["core_map"])
    loc = neuron_locations(spec)
    assert loc.network_neuron(*loc.outputs[1]) == ("3_LIF", 1)


@pytest.mark.parametrize("kw, msg", [
    (dict(tau_mem=-1e-3), "tau_mem must be > 0"),
    (dict(tau_syn=0.0), "tau_syn must be > 0"),
    (dict(threshold=0.0), "threshold must be > 0"),
    (dict(threshold=np.inf), "NaN/inf"),
    (dict(dt=2e-2), "longer than tau_syn"),
    (dict(tau_mem=5e-4), "longer than tau_mem"),
])
def test_bad_lif_parameters_refused_by_every_entry_point(kw, msg):
    args = {**dict(tau_mem=20e-3, tau_syn=10e-3, threshold=1.0, dt=1e-3), **kw}
    with pytest.raises(ValueError, match=msg):
        LIF(2, **args)
    with pytest.raises(ValueError, match=msg):
        check_lif_parameters(2, args["tau_mem"], args["tau_syn"], args["threshold"], args["dt"])
    # a hand-built graph carrying the same values: the conversion (and so the mapper) refuses it too
    pop = NeuronPopulation("lif", "LIF", 2, {k: np.full(2, args[k], np.float64) for k in ("tau_mem", "tau_syn", "threshold")},
                           dict(dt=args["dt"]))
    g = Graph([LinearWeights("in", np.ones((3, 2))), pop], 3, 2)
    with pytest.raises(ValueError, match=msg):
        dynapsim_graph(g)
    with pytest.raises(ValueError, match=msg):
        mapper(g)


def test_unrealizable_parameters_name_the_parameter_and_range():
    for kw, name in ((dict(tau_mem=2.0), "tau_mem"), (dict(tau_syn=50.0), "tau_syn")):
        net = Sequential(LinearJax((3, 2)), LIF(2, **kw))
        with pytest.raises(ValueError, match=f"{name} = .* outside bias .* the chip realizes {name} from"):
            dynapsim_from_lif(net)


def test_mixed_and_wrong_networks_refused():
    with pytest.raises(ValueError, match="mixes LIF"):
        mapper(Sequential(LinearJax((3, 2)), LIF(2), LinearJax((2, 2)), DynapSim(2)).as_graph())
    with pytest.raises(TypeError, match="dynapsim_from_lif converts"):
        dynapsim_from_lif(Sequential(LinearJax((3, 2)), DynapSim(2)))
    with pytest.raises(ValueError, match="an LIF has one synaptic current"):
        Sequential(LinearJax((3, 2), syn_types=np.zeros((3, 2), np.int8)), LIF(2))(np.ones((5, 3)))


def test_bench_lif_smoke(tmp_path):
    out = tmp_path / "lif.json"
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_lif.py"), "--quick", "--out", str(out)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    res = json.loads(out.read_text())
    case = res["cases"]["tau_mem20_syn10"]["converted"]
    assert set(case) >= {"pearson_r", "accuracy_a", "accuracy_b", "pearson_r_per_neuron"}
    assert np.isfinite(case["pearson_r"]) and res["quick"] is True
