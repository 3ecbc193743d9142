"""Properties of the spikes layer that are too long for the notebook: exact raster <-> events round trips over
many rasters, time origins and bin widths; the layer rule (numpy only, no jax, no matplotlib on import); and the
plots built on it agreeing with it."""
import subprocess, sys, warnings

import numpy as np
import pytest

from dynapse_nb.spikes import (DroppedEventsWarning, FrozenNoiseDataset, events_to_raster, firing_rate_ratio,
                               poisson_spike_train, raster_to_events)


@pytest.mark.parametrize("dt", [1e-3, 1e-4, 0.1, 1 / 3])
@pytest.mark.parametrize("t_start", [0.0, 0.123456, -2.5, 1e4, 3.7e5])
def test_round_trip_exact(dt, t_start):
    rng = np.random.default_rng(int(1e6 * dt) + int(abs(t_start)))
    raster = rng.poisson(0.4, size=(300, 17)).astype(np.float32)     # counts 0..4 or so
    t, c = raster_to_events(raster, dt, t_start)
    assert len(t) == raster.sum()
    assert np.all(np.diff(t) >= 0)
    same_t = np.diff(t) == 0
    assert np.all(np.diff(c)[same_t] >= 0)                           # sorted by time, then channel
    np.testing.assert_array_equal(events_to_raster(t, c, 17, dt, 300, t_start), raster)


def test_round_trip_events_first():
    "events -> raster -> events gives the events back, snapped to bin starts, in sorted order."
    rng = np.random.default_rng(0)
    dt, n = 1e-3, 1000
    bins, chans = rng.integers(0, 500, n), rng.integers(0, 8, n)
    t = 2.0 + bins * dt + rng.uniform(0, 0.999 * dt, n)              # anywhere inside the bin
    r = events_to_raster(t, chans, 8, dt, 500, t_start=2.0)
    t2, c2 = raster_to_events(r, dt, t_start=2.0)
    order = np.lexsort((chans, bins))
    np.testing.assert_array_equal(c2, chans[order])
    np.testing.assert_allclose(t2, 2.0 + bins[order] * dt, rtol=0, atol=1e-12)


def test_drop_outside_counts_match():
    t = np.array([-0.5, 0.0, 0.01, 0.02, 0.05, 0.0499])
    c = np.array([0, 0, 3, 9, 1, 1])
    with pytest.raises(ValueError, match=r"2 of 6 events lie outside the window \[0, 0.05\) s and 1 are on channels"):
        events_to_raster(t, c, 4, 1e-2, 5)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        r = events_to_raster(t, c, 4, 1e-2, 5, drop_outside=True)
    assert [x.message.n_dropped for x in w if x.category is DroppedEventsWarning] == [3]
    assert r.sum() == 3


def test_poisson_statistics():
    r = poisson_spike_train(200, 2.0, 30, dt=1e-3, batch_size=2, seed=11)
    counts = r.sum(axis=1)                                           # per channel, 2 s at 30 Hz: mean 60
    assert abs(counts.mean() - 60) < 1.5
    assert abs(counts.var() / counts.mean() - 1) < 0.25              # Poisson: Fano factor 1


def test_dataset_independent_of_global_rng():
    np.random.seed(1); a = FrozenNoiseDataset(3).input_raster
    np.random.seed(2); b = FrozenNoiseDataset(3).input_raster
    np.testing.assert_array_equal(a, b)


def test_frr_batched_matches_loop():
    s = poisson_spike_train(3, 0.2, 30, batch_size=50, seed=4).reshape(5, 10, 200, 3)
    f = firing_rate_ratio(s)
    assert f.shape == (5, 10)
    for i in range(5):
        for j in range(10):
            c = s[i, j].astype(np.float64).sum(0)
            expect = np.nan if c.max() == 0 else (np.inf if c.min() == 0 else c.max() / c.min())
            np.testing.assert_equal(f[i, j], expect)


def test_layer_rule_numpy_only():
    "Importing the spikes layer pulls in neither jax nor matplotlib (nor any layer above it)."
    code = ("import sys, dynapse_nb.spikes; bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('jax', 'jaxlib', 'matplotlib', 'optax') or m in ('dynapse_nb.nn', 'dynapse_nb.dynapsim', "
            "'dynapse_nb.plots', 'dynapse_nb.chip')); print(bad); assert not bad")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_plots_frr_matches_spikes():
    import matplotlib; matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from dynapse_nb.plots import plot_model_response, plot_model_response_histogram
    ds = FrozenNoiseDataset(6, n_channels=4, duration=0.1, seed=3)

    def model(x):                                                    # output = the first two input channels
        return x[..., :2], {}, {}
    frr = plot_model_response_histogram(model, ds)
    np.testing.assert_array_equal(frr, firing_rate_ratio(ds.input_raster[..., :2]))
    assert plot_model_response(model, ds, 1e-3, slice=[4, 1]) == list(frr[[4, 1]])
    plt.close("all")
