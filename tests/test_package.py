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


def _layer_numbers():
    "Map each exported module to the number of the lesson it comes from (`#| default_exp` in nbs/NN_name.ipynb)."
    import json, re
    from pathlib import Path
    nbs = Path(dynapse_nb.__file__).parent.parent / "nbs"
    out = {}
    for nb in sorted(nbs.glob("[0-9][0-9]_*.ipynb")):
        for cell in json.loads(nb.read_text())["cells"]:
            m = re.search(r"^#\|\s*default_exp\s+(\S+)", "".join(cell["source"]), re.M)
            if m:
                out[m.group(1)] = int(nb.name[:2]); break
    return out


def test_layers_import_only_lower_numbers():
    "The lesson numbers are the import order: a module imports only modules from lessons with lower numbers."
    import ast
    from pathlib import Path
    numbers = _layer_numbers()
    pkg = Path(dynapse_nb.__file__).parent
    assert set(numbers) == {p.stem for p in pkg.glob("*.py") if not p.stem.startswith("_")}, numbers
    wrong = []
    for mod, n in numbers.items():
        for node in ast.walk(ast.parse((pkg / f"{mod}.py").read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level == 1 and node.module:
                    targets = [node.module.split(".")[0]]
                elif node.level == 1:
                    targets = [a.name for a in node.names]
                elif (node.module or "").startswith("dynapse_nb."):
                    targets = [node.module.split(".")[1]]
                else:
                    continue
            elif isinstance(node, ast.Import):
                targets = [a.name.split(".")[1] for a in node.names if a.name.startswith("dynapse_nb.")]
            else:
                continue
            wrong += [f"{mod} ({n:02d}) imports {t} ({numbers[t]:02d})" for t in targets
                      if t in numbers and numbers[t] >= n]
    assert not wrong, "layers must import only lower-numbered lessons: " + "; ".join(wrong)


def test_no_module_level_attribute_hooks():
    "A method patched onto a class must not stay bound at module level: a module `__getattr__` answers for the module."
    import importlib, pkgutil
    for m in pkgutil.iter_modules(dynapse_nb.__path__):
        if m.name.startswith("_"): continue
        mod = importlib.import_module(f"dynapse_nb.{m.name}")
        assert not {"__getattr__", "__setattr__"} & set(vars(mod)), f"dynapse_nb.{m.name} has a module-level hook"
