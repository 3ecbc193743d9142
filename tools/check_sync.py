"""Fail when `nbdev-export` or `nbdev-clean` would change the tree.

Works on a dirty working tree too (it compares file contents before and after, not git state):
the notebooks must be clean and the package must be exactly what the notebooks export.
"""
import hashlib, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def snapshot():
    files = [*ROOT.glob("dynapse_nb/**/*.py"), *ROOT.glob("nbs/**/*.ipynb"), *ROOT.glob("nbs/llms.txt")]
    return {p.relative_to(ROOT): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in files if ".ipynb_checkpoints" not in p.parts}


def main():
    before = snapshot()
    for cmd in ("nbdev-export", "nbdev-clean"):
        r = subprocess.run([str(BIN / cmd)], cwd=ROOT, capture_output=True, text=True)
        if r.returncode: sys.exit(f"{cmd} failed:\n{r.stdout}\n{r.stderr}")
    after = snapshot()
    changed = sorted(str(p) for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    if changed:
        sys.exit("nbdev-export/nbdev-clean changed these files (the notebooks and the package were out "
                 "of sync, or a notebook was not clean); review and commit them:\n  " + "\n  ".join(changed))
    print(f"sync check: {len(after)} files, nbdev-export and nbdev-clean leave them unchanged")


if __name__ == "__main__":
    main()
