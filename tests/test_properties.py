"""Property-based tests (hypothesis) across the pipeline.

* Random networks within the chip's limits map, quantize, configure, survive a JSON round trip and read back to
  the weights the quantizer reconstructs and the currents the biases make.
* A bad scalar (NaN, infinity, a negative or zero where it must be positive, a string, None, a fraction out of
  range, a count that is not a whole number) for a public numeric argument raises ValueError or TypeError naming
  the argument -- never an unclear crash, never a silent acceptance.

Runs are bounded (max_examples) and derandomized, so CI is deterministic and quick; `HYPOTHESIS_MAX_EXAMPLES` (an
environment variable) scales them up for a long local fuzzing run.
"""
import os, warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from dynapse_nb import (DynapSim, LinearJax, Sequential, FrozenNoiseDataset, poisson_spike_train, mapper,
                        config_from_specification, dynapsim_net_from_config, VirtualBoard, DynapseSamna)
from dynapse_nb.quantize import quantize, dequantize
from dynapse_nb.config import from_json, to_json, diff
from dynapse_nb.board import calibrate_iscale
from dynapse_nb.chip import N_CORES
from dynapse_nb.mapping import MappingError

SETTINGS = settings(max_examples=int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES") or 25), deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# ---------------------------------------------------------------- random networks round-trip through the chip

@st.composite
def networks(draw):
    n = draw(st.integers(1, 24))
    n_in = draw(st.integers(1, 20))
    model = draw(st.sampled_from(["lumped", "four"]))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    density = draw(st.sampled_from([0.1, 0.3, 0.6]))
    w_in = rng.normal(0, 4, (n_in, n)) * (rng.random((n_in, n)) < density)
    w_rec = rng.normal(0, 3, (n, n)) * (rng.random((n, n)) < density)
    itau = draw(st.sampled_from([None, "two groups"]))
    kw = {} if itau is None else dict(Itau_mem=np.where(np.arange(n) % 2, 4e-12, 6e-12))
    net = Sequential(LinearJax((n_in, n), weight=w_in),
                     DynapSim(n, has_rec=True, w_rec=w_rec, synapse_model=model, Idc=1e-11, **kw))
    n_cluster = draw(st.sampled_from([None] + list(range(1, min(n, 16) + 1))))
    return net, n_cluster


@SETTINGS
@given(networks())
def test_random_networks_map_configure_and_read_back(case):
    net, n_cluster = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                       # clustering/dropped-weight notes are not the point
        try:
            spec = mapper(net.as_graph(), n_cluster=n_cluster)
        except MappingError as e:
            # More cores than 3 chips hold put a neuron's recurrent targets on 4 chips, beyond its 4 SRAM entries
            # (monitor + 3 chips): the mapper must refuse that layout, naming the budget and the fix.
            assert n_cluster is not None and n_cluster > 3 * N_CORES, str(e)
            assert "fan-out (SRAM)" in str(e) and "Fix:" in str(e), str(e)
            return
        spec.update(quantize(**spec))
        cfg = config_from_specification(**spec)
    again = from_json(to_json(cfg["config"]))                 # JSON round trip: exact
    assert diff(again, cfg["config"]) == []
    model = spec["synapse_model"]
    back = dynapsim_net_from_config(again, cfg["input_channel_map"], Iscale=spec["Iscale"], synapse_model=model)
    w_in, w_rec = dequantize(**spec)
    np.testing.assert_array_equal(back[0].weight, w_in.astype(np.float32))
    if back[1].has_rec: np.testing.assert_array_equal(back[1].w_rec, w_rec.astype(np.float32))
    else: assert not np.any(w_rec)                           # no recurrent connection left: no recurrent weights
    cm = spec["core_map"]
    on = np.asarray(spec["Itau_mem"])[cm] > 0
    assert np.all(np.abs(np.asarray(back[1].Itau_mem)[on] / np.asarray(spec["Itau_mem"])[cm][on] - 1) < 0.12)


# ---------------------------------------------------------------- bad scalars raise, naming the argument

NAN, INF = float("nan"), float("inf")
POSITIVE = [0.0, -1.0, NAN, INF, "1", None]                    # must be a finite number > 0
NONNEG = [-1e-12, NAN, INF, "1e-12", 1e300]                    # a current: finite, >= 0, fits float32
FRACTION = [-0.1, 1.0, 5, NAN, "0.05"]                         # percent_mismatch: [0, 1)
COUNT = [0, -3, 1.5, NAN, "3", True]                           # a whole number >= 1

CASES = (
    [(lambda v, k=k: DynapSim(3, **{k: v}), k, NONNEG) for k in ("Itau_mem", "Igain_syn", "Ispkthr", "Idc", "Iw_ahp")]
    + [(lambda v: DynapSim(3, Iscale=v), "Iscale", POSITIVE), (lambda v: DynapSim(3, dt=v), "dt", POSITIVE),
       (lambda v: DynapSim(3, percent_mismatch=v), "percent_mismatch", FRACTION),
       (lambda v: LinearJax((3, 2), weight=np.full((3, 2), v)), "weight", [NAN, INF, "1"]),
       (lambda v: FrozenNoiseDataset(v), "n_samples", COUNT),
       (lambda v: FrozenNoiseDataset(2, n_channels=v), "n_channels", COUNT),
       (lambda v: FrozenNoiseDataset(2, duration=v), "duration", POSITIVE),
       (lambda v: FrozenNoiseDataset(2, rate=v), "rate", [-1.0, NAN, INF, "50"]),
       (lambda v: poisson_spike_train(4, 0.1, 10, dt=v), "dt", POSITIVE),
       (lambda v: mapper(DynapSim(4).as_graph(), n_cluster=v), "n_cluster", COUNT[:-1] + [17]),
       (lambda v: mapper(DynapSim(4).as_graph(), n_chips=v), "n_chips", COUNT + [10**4]),
       (lambda v: mapper(DynapSim(4).as_graph(), max_neuron_per_cluster=v), "max_neuron_per_cluster", COUNT + [257]),
       (lambda v: quantize(weights_in=np.ones((2, 2)), core_map=[0, 0], Iscale=v), "Iscale", POSITIVE),
       (lambda v: VirtualBoard(percent_mismatch=v), "percent_mismatch", FRACTION),
       (lambda v: VirtualBoard(temperature=v), "temperature", [0.0, -1.0, NAN, INF, "300"]),
       (lambda v: VirtualBoard(dt=v), "dt", POSITIVE),
       (lambda v: VirtualBoard(n_chips=v), "n_chips", COUNT + [10**4]),
       (lambda v: VirtualBoard(rng_key=v), "rng_key", [-1, 1.5, "abc", 2**70])])


@SETTINGS
@given(st.sampled_from(range(len(CASES))), st.data())
def test_bad_scalars_raise_naming_the_argument(i, data):
    make, name, bad = CASES[i]
    value = data.draw(st.sampled_from(bad))
    with pytest.raises((ValueError, TypeError)) as e:
        make(value)
    assert name in str(e.value), (name, value, str(e.value))


@SETTINGS
@given(st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=3))
def test_any_bad_current_is_refused_or_stored_as_given(v):
    "A current is either refused with its name or stored exactly as the float32 it asks for (None: the default)."
    try:
        m = DynapSim(2, Itau_mem=v)
    except (ValueError, TypeError) as e:
        assert "Itau_mem" in str(e)
        return
    assert np.isfinite(v) and v >= 0
    np.testing.assert_array_equal(m.Itau_mem, np.float32(v))
    assert not (v != 0 and np.float32(v) == 0)                # no silent underflow to 0
