"Mapping: graph -> spec. Cross-layer properties (spec -> quantize), limit violations, clustering invariants."
import importlib.util
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from dynapse_nb.chip import N_CAM, N_CORES, N_NEURONS, N_SRAM, N_TAGS
from dynapse_nb.dynapsim import COMMON_CURRENTS, SYNAPSE_MODELS, DynapSim
from dynapse_nb.nn import Graph, LinearJax, LinearWeights, NeuronPopulation, Sequential
from dynapse_nb.mapping import (ClusteringWarning, MappingError, cluster, fan_in, mapper, merge_populations,
                                parameter_groups, split_sequence)

ROOT = Path(__file__).resolve().parents[1]


def tutorial_net(seed=0):
    rng = np.random.default_rng(seed)
    return Sequential(LinearJax((60, 2), weight=rng.normal(0, 5, (60, 2))),
                      DynapSim((2, 2), has_rec=True, w_rec=rng.normal(0, 3, (2, 2)), percent_mismatch=0.05))


def deep_net(sizes=(32, 16, 8, 4, 2), seed=1):
    rng = np.random.default_rng(seed)
    ff = [rng.normal(size=(a, b)).astype(np.float32) for a, b in zip(sizes[:-1], sizes[1:])]
    rec = [rng.normal(size=(b, b)).astype(np.float32) for b in sizes[1:]]
    mods = []
    for f, r in zip(ff, rec):
        mods += [LinearJax(f.shape, weight=f), DynapSim(r.shape, has_rec=True, w_rec=r)]
    return Sequential(*mods), ff, rec


def quiet_mapper(*a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ClusteringWarning)      # nothing should be merged in these cases
        return mapper(*a, **k)


# ---------------------------------------------------------------- spec layout


def test_tutorial_net_one_core_and_keys():
    net = tutorial_net()
    spec = quiet_mapper(net.as_graph())
    assert spec["n_cluster"] == 1 and spec["core_map"].tolist() == [0, 0]
    assert spec["core_map"].dtype.kind == "i"
    assert spec["n_neuron"] == 2 and spec["n_in"] == 60
    assert spec["weights_in"].shape == (60, 2) and spec["weights_rec"].shape == (2, 2)
    np.testing.assert_array_equal(spec["weights_in"], net[0].weight)
    np.testing.assert_array_equal(spec["weights_rec"], net[1].w_rec)
    assert isinstance(spec["Iscale"], float) and spec["Iscale"] == net[1].Iscale
    assert spec["dt"] == net[1].dt and spec["synapse_model"] == "lumped"          # the default: Rockpool's model
    names = COMMON_CURRENTS + SYNAPSE_MODELS["lumped"].currents
    for k in names:
        assert isinstance(spec[k], list) and len(spec[k]) == 1 and isinstance(spec[k][0], float)
        assert spec[k][0] == float(getattr(net[1], k)[0])                # nominal value, mismatch not applied
        assert spec["unclustered"][k] == [float(x) for x in getattr(net[1], k)]
    rep = spec["clustering_report"]
    assert len(rep) == 1 and rep[0]["n_neuron"] == 2 and set(rep[0]["max_deviation"]) == set(names)
    assert spec["mapped_graph"].nodes[0].name == "0_LinearJax"


def test_lumped_model_current_names():
    spec = quiet_mapper(DynapSim(3, synapse_model="lumped", Itau_syn=2e-12).as_graph())
    assert spec["weights_in"] is None and spec["weights_rec"] is None and spec["n_in"] == 0
    for k in COMMON_CURRENTS + SYNAPSE_MODELS["lumped"].currents: assert len(spec[k]) == 1
    assert "Itau_ampa" not in spec
    assert spec["Itau_syn"][0] == float(np.float32(2e-12))


@pytest.mark.parametrize("N,cores", [(1, 1), (255, 1), (256, 1), (257, 2), (512, 2), (600, 3), (1024, 4), (2048, 8)])
def test_core_count_no_off_by_one(N, cores):
    spec = quiet_mapper(DynapSim(N).as_graph())
    assert spec["n_cluster"] == cores
    counts = np.bincount(spec["core_map"])
    assert len(counts) == cores and counts.min() >= 1 and counts.max() <= N_NEURONS and counts.sum() == N


def test_four_layer_block_structure_exact():
    net, ff, rec = deep_net()
    spec = quiet_mapper(net.as_graph())
    st = [0, 16, 24, 28, 30]
    w_in, w_rec = spec["weights_in"], spec["weights_rec"]
    assert w_in.shape == (32, 30) and w_rec.shape == (30, 30)
    np.testing.assert_array_equal(w_in[:, :16], ff[0])
    assert not w_in[:, 16:].any()
    expected = np.zeros((30, 30), np.float32)
    for l in range(4):
        np.testing.assert_array_equal(w_rec[st[l]:st[l + 1], st[l]:st[l + 1]], rec[l])
        expected[st[l]:st[l + 1], st[l]:st[l + 1]] = rec[l]
        if l < 3:
            np.testing.assert_array_equal(w_rec[st[l]:st[l + 1], st[l + 1]:st[l + 2]], ff[l + 1])
            expected[st[l]:st[l + 1], st[l + 1]:st[l + 2]] = ff[l + 1]
    np.testing.assert_array_equal(w_rec, expected)                         # zeros everywhere else
    assert spec["n_cluster"] == 1                                          # all layers share the default currents
    assert [p[1:] for p in spec["populations"]] == [(0, 16), (16, 8), (24, 4), (28, 2)]


def test_different_currents_get_own_cores_and_values():
    net = Sequential(LinearJax((10, 8)), DynapSim(8, Itau_mem=2e-12, has_rec=True), LinearJax((8, 4)),
                     DynapSim(4, Itau_mem=4e-12))
    spec = quiet_mapper(net.as_graph())
    assert spec["n_cluster"] == 2 and spec["core_map"].tolist() == [0] * 8 + [1] * 4
    assert spec["Itau_mem"] == [float(np.float32(2e-12)), float(np.float32(4e-12))]
    assert all(max(r["max_deviation"].values()) == 0 for r in spec["clustering_report"])


def test_forcing_one_core_warns_with_deviation():
    net = Sequential(LinearJax((10, 8)), DynapSim(8, Itau_mem=2e-12), LinearJax((8, 8)), DynapSim(8, Itau_mem=8e-12))
    with pytest.warns(ClusteringWarning, match=r"core 0: neurons 1_DynapSim\[0-7\], 3_DynapSim\[0-7\].*Itau_mem 100%"):
        spec = mapper(net.as_graph(), n_cluster=1)
    assert spec["n_cluster"] == 1
    assert spec["Itau_mem"][0] == pytest.approx(4e-12, rel=1e-6)           # geometric mean of 2 and 8 pA
    assert spec["clustering_report"][0]["max_deviation"]["Itau_mem"] == pytest.approx(1.0, rel=1e-6)
    assert spec["clustering_report"][0]["max_deviation"]["Ispkthr"] == 0.0


def test_greedy_has_no_extra_cluster():
    spec = quiet_mapper(DynapSim(5).as_graph(), n_cluster=2, clustering="greedy")
    assert spec["n_cluster"] == 2 and sorted(set(spec["core_map"].tolist())) == [0, 1]
    assert len(spec["Itau_mem"]) == 2


def test_syn_types_passed_through():
    rng = np.random.default_rng(3)
    st_in = rng.integers(0, 4, (6, 5))
    w_rec = rng.normal(size=(5, 5))
    net = Sequential(LinearJax((6, 5), weight=rng.normal(size=(6, 5)), syn_types=st_in),
                     DynapSim(5, has_rec=True, w_rec=w_rec, synapse_model="four"))
    spec = quiet_mapper(net.as_graph())
    np.testing.assert_array_equal(spec["syn_types_in"], st_in)
    assert spec["syn_types_rec"] is None
    lumped = Sequential(LinearJax((6, 5), syn_types=st_in), DynapSim(5, synapse_model="lumped"))
    with pytest.raises(ValueError, match="synapse_model='lumped'"):
        mapper(lumped.as_graph())


# ---------------------------------------------------------------- clustering invariants


@pytest.mark.parametrize("seed", range(6))
def test_every_neuron_has_a_valid_core(seed):
    rng = np.random.default_rng(seed)
    n_groups = int(rng.integers(1, 30))
    sizes = rng.integers(1, 300, n_groups)
    while sizes.sum() > 16 * N_NEURONS: sizes //= 2
    X = np.repeat(np.exp(rng.normal(size=(n_groups, 3))) * 1e-11, np.maximum(sizes, 1), axis=0)
    N = len(X)
    n_min = -(-N // N_NEURONS)
    for target in sorted({n_min, min(16, N), int(rng.integers(n_min, min(16, N) + 1))}):
        for method in ("similarity", "greedy"):
            cm = cluster(X, target, N_NEURONS, method)
            counts = np.bincount(cm, minlength=target)
            assert len(counts) == target, (target, method)
            assert counts.min() >= 1 and counts.max() <= N_NEURONS and counts.sum() == N


def test_groups_never_mixed_when_cores_suffice():
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 6, 1000)
    X = np.exp(labels[:, None] * [1.0, 0.5]) * 1e-12
    cm = cluster(X, 16)
    for c in range(cm.max() + 1):
        assert len(set(labels[cm == c])) == 1


def test_merge_prefers_similar_groups():
    # three groups, one far away: forced to two cores, the two similar ones share a core
    X = np.repeat([[1e-12], [1.05e-12], [1e-10]], [50, 50, 50], axis=0)
    cm = cluster(X, 2)
    assert len(set(cm[:100])) == 1 and set(cm[100:]).isdisjoint(set(cm[:100]))


def test_layer_contiguity_and_chip_fill_order():
    net = Sequential(LinearJax((4, 300)), DynapSim(300, Itau_mem=1e-12),
                     LinearJax((300, 700), weight=np.eye(300, 700)), DynapSim(700, Itau_mem=2e-12))
    spec = quiet_mapper(net.as_graph())
    cm = spec["core_map"]
    assert np.all(np.diff(cm) >= 0)                                    # non-decreasing: layers contiguous
    assert spec["n_cluster"] == 2 + 3 and cm.max() < 4 * N_CORES


def test_split_sequence_prefers_boundaries():
    assert split_sequence([0] * 100 + [1] * 150, 2) == [100, 150]
    assert parameter_groups(np.array([[1.0], [-0.0], [0.0]])).tolist() == [0, 1, 1]


# ---------------------------------------------------------------- limits: one error listing every offender


def test_fan_in_65_listed():
    w = np.zeros((65, 3)); w[:, 1] = 1.0
    with pytest.raises(MappingError) as e:
        mapper(Sequential(LinearJax((65, 3), weight=w), DynapSim(3)).as_graph())
    assert len(e.value.problems) == 1
    assert f"more than {N_CAM} CAM entries" in str(e.value) and "neuron 1 (1_DynapSim[1]): 65" in str(e.value)


def test_fan_in_counts_input_plus_recurrent():
    w_in = np.zeros((40, 4)); w_in[:, 0] = 1
    w_rec = np.zeros((4, 4)); w_rec[:, 0] = 1                          # 40 + 4 = 44: fits
    spec = quiet_mapper(Sequential(LinearJax((40, 4), weight=w_in), DynapSim(4, has_rec=True, w_rec=w_rec)).as_graph())
    assert fan_in(merge_populations(spec["mapped_graph"])).tolist() == [44, 0, 0, 0]
    w_in = np.zeros((61, 4)); w_in[:, 0] = 1                           # 61 + 4 = 65: does not
    with pytest.raises(MappingError, match=r"neuron 0 \(1_DynapSim\[0\]\): 65"):
        mapper(Sequential(LinearJax((61, 4), weight=w_in), DynapSim(4, has_rec=True, w_rec=w_rec)).as_graph())


def test_tags():
    with pytest.raises(MappingError, match=r"2000 input channels \+ 49 neurons need tags 0..2048 \(2049 tags\), but tags stop at 2047"):
        mapper(Sequential(LinearJax((2000, 49), weight=np.zeros((2000, 49))), DynapSim(49)).as_graph())
    quiet_mapper(Sequential(LinearJax((2000, 48), weight=np.zeros((2000, 48))), DynapSim(48)).as_graph())


def test_5000_neurons_one_error_with_all_problems():
    with pytest.raises(MappingError) as e:
        mapper(DynapSim(5000).as_graph())
    probs = e.value.problems
    assert len(probs) == 2
    assert "0 input channels + 5000 neurons need tags 0..4999 (5000 tags)" in probs[0]
    assert "5000 neurons, but 4 chip(s) x 4 cores x 256 neurons per core hold 4096" in probs[1]
    w = np.zeros((70, 5000), np.float32); w[:, 9] = 1.0; w[:65, 7] = 1.0
    with pytest.raises(MappingError) as e:
        mapper(Sequential(LinearJax((70, 5000), weight=w), DynapSim(5000)).as_graph())
    assert len(e.value.problems) == 3                                   # fan-in, tags, neurons: one error
    assert "2 of 5000 neurons" in e.value.problems[0]
    assert "neuron 7 (1_DynapSim[7]): 65, neuron 9 (1_DynapSim[9]): 70" in e.value.problems[0]
    assert str(e.value).startswith("the network does not fit the Dynap-SE2 board (4 chips): 3 problems")


def test_offender_list_truncated_with_total():
    w = np.ones((70, 100))
    with pytest.raises(MappingError) as e:
        mapper(Sequential(LinearJax((70, 100), weight=w), DynapSim(100)).as_graph())
    msg = e.value.problems[0]
    assert "100 of 100 neurons" in msg and "... and 80 more" in msg and "neuron 19 (1_DynapSim[19]): 70" in msg
    assert "neuron 20 (" not in msg


def test_fan_out_four_chips():
    w = np.zeros((16, 16)); w[0, [0, 4, 8, 12]] = 1.0; w[1, [1, 5, 9]] = 1.0     # 0 -> 4 chips, 1 -> 3 chips
    net = DynapSim(16, has_rec=True, w_rec=w)
    with pytest.raises(MappingError) as e:
        mapper(net.as_graph(), n_cluster=16)
    assert len(e.value.problems) == 1
    msg = e.value.problems[0]
    assert f"1 of 16 neurons need more than {N_SRAM} SRAM entries" in msg and "neuron 0 (DynapSim[0]): 5" in msg
    spec = quiet_mapper(net.as_graph())                                 # on one core: 1 + 1 entries
    assert spec["n_cluster"] == 1


def test_bad_arguments_and_graphs():
    g = DynapSim(600).as_graph()
    for kw, text in [(dict(n_cluster=2), "at least 3 cores"), (dict(n_cluster=17), "the board has 16 cores"),
                     (dict(n_cluster=0), "n_cluster must be an integer"), (dict(n_cluster=2.5), "n_cluster"),
                     (dict(n_chips=0), "n_chips"), (dict(max_neuron_per_cluster=257), "1..256"),
                     (dict(clustering="kmeans"), "clustering_method must be one of")]:
        with pytest.raises(ValueError, match=text):
            mapper(g, **kw)
    assert quiet_mapper(g, n_chips=1)["n_cluster"] == 3
    with pytest.raises(TypeError, match="Graph"):
        mapper("not a graph")
    with pytest.raises(TypeError, match="node 1 is a int"):
        mapper(Graph([DynapSim(2).as_graph().nodes[0], 3], 2, 2))
    with pytest.raises(ValueError, match="consecutive|without weights between"):
        mapper(Sequential(DynapSim(3), DynapSim(3)).as_graph())
    with pytest.raises(ValueError, match="two weight layers"):
        mapper(Sequential(LinearJax((2, 3)), LinearJax((3, 3)), DynapSim(3)).as_graph())
    bad = DynapSim(3).as_graph(); bad.nodes[0].params["Itau_mem"] = np.array([1e-12, -1e-12, 1e-12])
    with pytest.raises(ValueError, match="Itau_mem .* must be >= 0"):
        mapper(bad)
    short = DynapSim(3).as_graph(); del short.nodes[0].params["Ipulse"]
    with pytest.raises(ValueError, match="no current 'Ipulse'"):
        mapper(short)
    nan = Sequential(LinearJax((2, 3)), DynapSim(3)).as_graph(); nan.nodes[0].weight[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        mapper(nan)


# ---------------------------------------------------------------- cross-layer: the spec feeds quantize


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_spec_feeds_quantize():
    from dynapse_nb.quantize import quantize, dequantize
    net = Sequential(LinearJax((20, 300), weight=np.random.default_rng(0).normal(size=(20, 300)) *
                               (np.random.default_rng(1).random((20, 300)) < 0.2)),
                     DynapSim(300, Itau_mem=np.repeat([2e-12, 3e-12], 150)))
    spec = quiet_mapper(net.as_graph())
    assert spec["n_cluster"] == 2
    q = quantize(**spec)
    assert len(q["Iw_0"]) == spec["n_cluster"]
    spec.update(q)
    w_hat, _ = dequantize(**spec)
    assert w_hat.shape == (20, 300)


# ---------------------------------------------------------------- benchmark smoke run


def test_bench_compile_smoke(tmp_path):
    path = ROOT / "benchmarks" / "bench_compile.py"
    mod = importlib.util.spec_from_file_location("bench_compile", path)
    bench = importlib.util.module_from_spec(mod); mod.loader.exec_module(bench)
    out = tmp_path / "compile.json"
    res = bench.main(["--repeat", "1", "--quick", "--out", str(out)])
    data = json.loads(out.read_text())
    assert set(data["mapping"]) == {"dense_1024", "layers_4", "two_chips_2048"}
    d = data["mapping"]["dense_1024"]
    assert d["n_cluster"] == 4 and d["max_fan_in"] == N_CAM and d["n_neuron"] + d["n_in"] == N_TAGS
    assert data["mapping"]["two_chips_2048"]["n_chips_used"] == 2
    assert res["mapping"]["layers_4"]["n_cluster"] == 1
