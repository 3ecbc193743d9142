"""The original Rockpool quick-start tutorial ("Quick Start with Dynap-SE2", steps 1-8) with only its imports changed.

The tutorial's own code, line for line, on the project's shipped weights (the tutorial loads its own pre-trained
`w_in_optimized.npy` / `w_rec_optimized.npy`; those are Rockpool's, so the project ships and uses its own). Where
`find_dynapse_boards()` finds no board, the tutorial raises; here a `VirtualBoard()` stands in, as a user without hardware would write.
"""
import warnings

import numpy as np
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest

# - Rockpool imports, changed:            from rockpool.nn.modules.jax import LinearJax ...
from dynapse_nb import LinearJax, Sequential
# - Dynap-SE imports, changed:            from rockpool.devices.dynapse import (...)
from dynapse_nb import (DynapSim, mapper, autoencoder_quantization, config_from_specification,
                        find_dynapse_boards, DynapseSamna, dynapsim_net_from_config, VirtualBoard)
# - Tutorial utils, changed:              from doc_utils import (...)
from dynapse_nb import (FrozenNoiseDataset, plot_model_response, plot_model_response_histogram, visualize_device_sim,
                        plot_raster, plot_vmem, plot_isyn)
from dynapse_nb.train import load_tutorial_weights


@pytest.fixture(scope="module")
def tutorial():
    "Steps 1-8, in order; returns what the steps computed for the tests below to look at."
    got = {}
    w_in_opt, w_rec_opt = load_tutorial_weights()            # the tutorial: np.load("data/w_in_optimized.npy") ...

    # Step 1: build the network
    Nin, Nrec = w_in_opt.shape
    dt = 1e-3
    net = Sequential(
        LinearJax(shape=(Nin, Nrec), has_bias=False, weight=w_in_opt),
        DynapSim((Nrec, Nrec), has_rec=True, percent_mismatch=0.05, dt=dt, w_rec=w_rec_opt),
    )

    # Step 2: simulate
    train_data = FrozenNoiseDataset(2)
    test_data = FrozenNoiseDataset(100, seed=2023)
    got["frr_train"] = plot_model_response(net, train_data, dt)
    got["frr_test"] = plot_model_response_histogram(net, test_data)
    plt.close("all")

    # Step 3: extract the graph and map
    spec = mapper(net.as_graph())
    spec["Iscale"] *= 50

    # Step 4: quantize (the tutorial's `spec.update(autoencoder_quantization(**spec))`)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spec.update(autoencoder_quantization(**spec))
        # Step 5: obtain the hardware configuration
        config = config_from_specification(**spec)
    got["warnings"] = [w for w in caught]

    # Step 6: connect to the device
    se2_devices = find_dynapse_boards()
    found_se2 = len(se2_devices) > 0
    board = se2_devices[0] if found_se2 else VirtualBoard()  # the tutorial raises IOError here without a board
    se2 = DynapseSamna(board, **config)

    # Step 7: run on Dynap-SE2
    got["device"] = []
    for sample in (train_data[0][0], train_data[1][0], test_data[0][0], test_data[1][0]):
        out, state, rec = se2(sample, record=True)
        visualize_device_sim(sample, out, rec, config["input_channel_map"], se2.dt)
        got["device"].append(out)
    plt.close("all")

    # Step 8: simulate the quantized network
    net_quantized = dynapsim_net_from_config(**config)
    net_quantized[1].Iscale /= 50
    got["frr_quantized_train"] = plot_model_response(net_quantized, train_data, dt)
    got["frr_quantized_test"] = plot_model_response_histogram(net_quantized, test_data)
    plt.close("all")
    # and the tutorial's plotting utilities on a record
    out, state, rec = net(train_data[0][0], record=True)
    plot_raster(rec, "1_DynapSim", dt); plot_vmem(rec, "1_DynapSim"); plot_isyn(rec, "1_DynapSim")
    plt.close("all")
    got.update(net=net, spec=spec, config=config, se2=se2, dt=dt)
    return got


def test_steps_run_and_return_what_the_tutorial_shows(tutorial):
    assert len(tutorial["frr_train"]) == 2 and tutorial["frr_test"].shape == (100,)
    assert all(o.shape == (500, 2) for o in tutorial["device"])
    assert tutorial["config"]["config"].chips and len(tutorial["config"]["input_channel_map"]) == 60
    assert not np.isnan(tutorial["frr_test"]).all()


def test_the_times_50_is_never_silent(tutorial):
    "Iscale x 50 asks for base weight currents beyond the chip's: they saturate, and a warning says so."
    from dynapse_nb.biasgen import BiasSaturationWarning
    sat = [w for w in tutorial["warnings"] if issubclass(w.category, BiasSaturationWarning)]
    assert sat and "SYAM_W" in str(sat[0].message)
