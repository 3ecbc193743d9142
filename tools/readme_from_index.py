"""Write README.md from nbs/index.ipynb (markdown cells verbatim, code cells as python blocks, text outputs as
plain blocks; links to other notebooks made relative to the repository's root). `--check` exits non-zero when README.md is out of date. This stands in for `nbdev-readme`, which
needs the quarto binary."""
import json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def render() -> str:
    nb = json.loads((ROOT / "nbs" / "index.ipynb").read_text())
    parts = ["<!-- generated from nbs/index.ipynb by tools/readme_from_index.py; edit the notebook, not this file -->"]
    for cell in nb["cells"]:
        src = "".join(cell["source"]).strip()
        if not src or src.startswith("#| hide"): continue
        if cell["cell_type"] == "markdown":
            parts.append(src)
        else:
            parts.append(f"```python\n{src}\n```")
            for out in cell.get("outputs", []):
                text = "".join(out.get("text", "") or out.get("data", {}).get("text/plain", "")).rstrip()
                if text and not text.startswith("<Figure"): parts.append(f"```\n{text}\n```")
    # Links between notebooks are relative to nbs/ (where the docs site has them); from the README they start at
    # the repository's root.
    text = "\n\n".join(parts) + "\n"
    return re.sub(r"\]\((?!https?:|#|/|nbs/)([^)\s]+\.ipynb)\)", r"](nbs/\1)", text)


if __name__ == "__main__":
    text, path = render(), ROOT / "README.md"
    if "--check" in sys.argv:
        if not path.exists() or path.read_text() != text:
            sys.exit("README.md is out of date with nbs/index.ipynb: run `python tools/readme_from_index.py`")
        print("README.md is up to date with nbs/index.ipynb")
    else:
        path.write_text(text)
        print(f"wrote {path}")
