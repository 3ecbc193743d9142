"Accessibility of the docs: every figure stored in a notebook carries alt text for readers who cannot see it."
import json, re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT / "nbs"
_LEADING = re.compile(r"^\s*(#\|.*|%%\w+.*|)$")   # what nbdev and quarto read as a cell's options: the leading
                                                 # `#|` lines (cell magics and blank lines may sit among them)


def cell_options(source: str) -> dict:
    "The quarto/nbdev options of a cell, parsed as quarto does: its leading `#|` lines, as YAML, one per line."
    opts = {}
    for line in source.splitlines():
        if not _LEADING.match(line): break
        text = line.lstrip()[2:].strip()
        if not line.lstrip().startswith("#|") or not text: continue
        v = yaml.safe_load(text)
        if isinstance(v, dict): opts.update(v)
        else: opts[text.split()[0]] = None                    # a bare nbdev directive: `#| hide`, `#| export`
    return opts


def figure_cells():
    "(notebook path such as nbs/00_chip.ipynb, cell index, cell) for every code cell with an image in its outputs."
    for p in sorted(NBS.glob("*.ipynb")) + sorted(NBS.glob("tutorials/*.ipynb")):
        for i, c in enumerate(json.loads(p.read_text(encoding="utf-8"))["cells"]):
            if c["cell_type"] == "code" and any("image/png" in o.get("data", {}) for o in c.get("outputs", [])):
                yield p.relative_to(NBS.parent), i, c


def missing_alt(cells) -> list[str]:
    "'notebook cell i: why' for each figure cell without a non-empty one-line `#| fig-alt:`."
    bad = []
    for nb, i, c in cells:
        src = "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        try: alt = cell_options(src).get("fig-alt")
        except yaml.YAMLError as e:
            bad.append(f"{nb} cell {i}: its #| options are not valid YAML (quote the fig-alt text): {e}")
            continue
        if not (isinstance(alt, str) and alt.strip()):
            bad.append(f"{nb} cell {i}: a figure without a non-empty `#| fig-alt: \"...\"` among its leading #| lines")
    return bad


def test_cell_options_parse_like_quarto():
    opts = cell_options('#| hide\n#| fig-alt: "A: b"\nplt.show()\n#| fig-alt: late')
    assert opts == {"hide": None, "fig-alt": "A: b"}
    assert cell_options("x = 1\n#| fig-alt: after code, not an option") == {}


def test_missing_alt_names_the_cell():
    img = [{"output_type": "display_data", "data": {"image/png": "iVBOR"}}]
    cells = [(Path("a.ipynb"), 3, {"cell_type": "code", "source": "plt.show()", "outputs": img}),
             (Path("a.ipynb"), 4, {"cell_type": "code", "source": '#| fig-alt: ""\nplt.show()', "outputs": img}),
             (Path("b.ipynb"), 7, {"cell_type": "code", "source": "#| fig-alt: a: b\nplt.show()", "outputs": img}),
             (Path("b.ipynb"), 9, {"cell_type": "code", "source": '#| fig-alt: "ok"\nplt.show()', "outputs": img})]
    bad = missing_alt(cells)
    assert [b.split(":")[0] for b in bad] == ["a.ipynb cell 3", "a.ipynb cell 4", "b.ipynb cell 7"], bad
    assert "not valid YAML" in bad[2]


def test_every_figure_has_alt_text():
    cells = list(figure_cells())
    assert len(cells) >= 50, f"found only {len(cells)} figure cells under {NBS}: are the notebooks' outputs stored?"
    bad = missing_alt(cells)
    assert not bad, ("figures without alt text (add `#| fig-alt: \"what the figure shows\"` at the top of the "
                     "cell):\n" + "\n".join(bad))


def test_links_between_notebooks_resolve():
    "Every relative link to a notebook, in a notebook's markdown or in the README, points at a file that exists."
    import re
    link = re.compile(r"\]\((?!https?:|#|/)([^)\s#]+\.ipynb)(?:#[^)]*)?\)")
    broken = []
    for nb in sorted(NBS.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in nb.parts: continue
        for i, cell in enumerate(json.loads(nb.read_text())["cells"]):
            if cell["cell_type"] != "markdown": continue
            broken += [f"{nb.relative_to(ROOT)} cell {i}: {t}" for t in link.findall("".join(cell["source"]))
                       if not (nb.parent / t).exists()]
    readme = ROOT / "README.md"
    broken += [f"README.md: {t}" for t in link.findall(readme.read_text()) if not (ROOT / t).exists()]
    assert not broken, "links to missing notebooks: " + "; ".join(broken)
