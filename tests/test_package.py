"""The package root: lazy re-exports of the pipeline's names, and no heavy import at `import dynapse_nb`."""
import subprocess, sys

import dynapse_nb


def test_every_exported_name_resolves():
    for name, module in dynapse_nb._EXPORTS.items():
        obj = getattr(dynapse_nb, name)
        assert obj.__module__ == f"dynapse_nb.{module}", name
    assert set(dynapse_nb._EXPORTS) <= set(dir(dynapse_nb))


def test_unknown_name_raises():
    try:
        dynapse_nb.NoSuchThing
    except AttributeError as e:
        assert "NoSuchThing" in str(e)
    else:
        raise AssertionError("expected AttributeError")


def test_import_is_light():
    code = "import sys, dynapse_nb; print('jax' in sys.modules, 'samna' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


def test_docstring_lists_every_module():
    from pathlib import Path
    modules = {p.stem for p in Path(dynapse_nb.__file__).parent.glob("*.py") if not p.stem.startswith("_")}
    missing = [m for m in sorted(modules) if f"`dynapse_nb.{m}`" not in dynapse_nb.__doc__]
    assert not missing, f"the package docstring does not list {missing}"


def test_star_import_gives_the_pipeline():
    code = ("from dynapse_nb import *; print(all(callable(globals()[n]) for n in "
            "['DynapSim', 'LinearJax', 'Sequential', 'mapper', 'autoencoder_quantization', 'config_from_specification', "
            "'dynapsim_net_from_config', 'DynapseSamna', 'VirtualBoard', 'find_dynapse_boards', 'FrozenNoiseDataset', "
            "'plot_model_response', 'plot_model_response_histogram', 'plot_raster']))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True"]
