"""Typical beginner mistakes, as a newcomer to the package makes them, get an error (or, where the call still means
something, a warning) that names the mistake and the fix -- never a NumPy or unpacking error from deep inside."""
import warnings

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

from dynapse_nb import (DynapSim, FrozenNoiseDataset, VirtualBoard, autoencoder_quantization,
                        config_from_specification, mapper, plot_model_response, plot_model_response_histogram)
from dynapse_nb.board import apply_chip_settings, calibrate_iscale
from dynapse_nb.quantize import quantize
from dynapse_nb.train import tutorial_network, tutorial_weights_info

NET = tutorial_network()
DATA = FrozenNoiseDataset(2)
SPEC = mapper(NET.as_graph())


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("f, call", [(config_from_specification, "config_from_specification(**spec)"),
                                     (quantize, "quantize(**spec)"),
                                     (autoencoder_quantization, "autoencoder_quantization(**spec)")])
def test_spec_dict_passed_positionally(f, call):
    with pytest.raises(TypeError, match=r"pass its entries as keywords: " + call.replace("(", r"\(").replace(")", r"\)").replace("*", r"\*")):
        f(SPEC)


def test_dataset_item_given_to_the_network():
    with pytest.raises(TypeError, match=r"is a pair \(raster of shape \(500, 60\), label.*net\(dataset\[i\]\[0\]\)"):
        NET(DATA[0])
    a, b = DATA.full_batch()[0][:2]                     # two rasters of one shape: a batch of two, not a pair
    assert np.asarray(NET((a, b))[0]).shape == (2, 500, 2)


@pytest.mark.parametrize("arg, msg", [(DATA.full_batch()[0], "got ndarray of shape (2, 500, 60)"),
                                      (DATA[0], "is a (raster, label) pair")])
def test_plot_model_response_wants_a_dataset(arg, msg):
    with pytest.raises(TypeError, match=None) as e:
        plot_model_response(NET, arg)
    assert msg in str(e.value)


def test_time_steps_that_disagree_warn():
    fine = FrozenNoiseDataset(2, dt=1e-4)
    with pytest.warns(UserWarning, match=r"0.0001 s bins but the model steps 0.001 s.*10x slower"):
        plot_model_response(NET, fine)
    with pytest.warns(UserWarning, match=r"0.0001 s bins but the model steps 0.001 s"):
        plot_model_response_histogram(NET, fine)
    with pytest.warns(UserWarning, match=r"dt = 0.0001 s differs from the model's time step 0.001 s"):
        plot_model_response(NET, DATA, 1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plot_model_response(NET, DATA, 1e-3)           # the tutorial's call: the same dt, no warning


def test_calibrate_iscale_takes_a_dataset_and_refuses_an_item():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cfg = config_from_specification(**SPEC)
    cfg = dict(cfg, config=apply_chip_settings(cfg["config"], tutorial_weights_info()["chip"]))
    k_data, _ = calibrate_iscale(VirtualBoard(), cfg, NET, DATA)
    k_raster, _ = calibrate_iscale(VirtualBoard(), cfg, NET, DATA.full_batch()[0])
    k_pair, _ = calibrate_iscale(VirtualBoard(), cfg, NET, DATA.full_batch())
    assert k_data == k_raster == k_pair
    with pytest.raises(TypeError, match=r"dataset item is; give the raster alone \(dataset\[i\]\[0\]\)"):
        calibrate_iscale(VirtualBoard(), cfg, NET, DATA[0])


def test_misspelt_constructor_keyword_gets_the_nearest_name():
    with pytest.raises(TypeError, match="did you mean 'percent_mismatch'"):
        DynapSim(2, percent_mismatc=0.05)
    with pytest.raises(TypeError, match="did you mean 'Itau_mem'"):
        DynapSim(2, Itau_mme=1e-12)


def test_a_full_batch_pair_is_a_dataset():
    "The pair `dataset.full_batch()` returns is accepted as a dataset (it was before), unlike one item."
    pair = DATA.full_batch()                           # 2 samples: as many as a (raster, label) item has entries
    np.testing.assert_array_equal(plot_model_response_histogram(NET, pair), plot_model_response_histogram(NET, DATA))
    np.testing.assert_array_equal(plot_model_response_histogram(NET, pair, slice=[0]),
                                  plot_model_response_histogram(NET, DATA, slice=[0]))
    assert plot_model_response(NET, pair, slice=1) == plot_model_response(NET, DATA, slice=1)
