"""A literate toolchain that takes a spiking network from a JAX simulator of the Dynap-SE2 chip to the chip (or a virtual board) and back.

Modules:

- `dynapse_nb.board`: Run a configuration on a Dynap-SE2 board -- a real one through samna, or the `VirtualBoard` emulator -- with rasters in and rasters out.
- `dynapse_nb.pipeline`: One network on three targets -- the float simulation, the quantized network, a (virtual) board -- run the same way, with tuning factors on Iscale, Ispkthr and Itau_mem, and compared.
- `dynapse_nb.train`: Surrogate-gradient training of `Sequential(LinearJax, DynapSim)` networks with optax, made robust to the chip's mismatch; the frozen-noise task of the tutorials and the weights `dynapse_nb` ships for it."""

__version__ = "0.1.0"

# The pipeline's names, importable from the package root without importing every layer up front (PEP 562):
# `from dynapse_nb import DynapSim, mapper, config_from_specification, VirtualBoard, ...`. (`quantize` is left out:
# the name is also the submodule `dynapse_nb.quantize`, which shadows it once imported; use
# `from dynapse_nb.quantize import quantize`.)
_EXPORTS = {
    "LinearJax": "nn", "Sequential": "nn", "DynapSim": "dynapsim", "FrozenNoiseDataset": "spikes",
    "poisson_spike_train": "spikes", "firing_rate_ratio": "spikes", "plot_model_response": "plots",
    "plot_model_response_histogram": "plots", "plot_Ix": "plots", "visualize_device_sim": "plots",
    "load_tutorial_weights": "train", "mapper": "mapping", "dequantize": "quantize",
    "config_from_specification": "config", "dynapsim_net_from_config": "readback",
    "dynapsim_net_from_spec": "readback", "VirtualBoard": "board", "DynapseSamna": "board",
    "find_dynapse_boards": "board", "calibrate_iscale": "board",
}

def __getattr__(name):
    if name in _EXPORTS:
        import importlib
        return getattr(importlib.import_module(f"dynapse_nb.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'dynapse_nb' has no attribute {name!r}")

def __dir__():
    return sorted(list(globals()) + list(_EXPORTS))
