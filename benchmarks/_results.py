"""Shared output of the benchmark scripts: print the target checks, write the JSON results file."""
import json
from pathlib import Path


def print_checks(checks: dict) -> None:
    "One line per target: `[ok]` or `[MISSED]` and what it checks."
    for k, ok in checks.items(): print(f"[{'ok' if ok else 'MISSED'}] {k}")


def save_results(res: dict, path) -> Path:
    "Write `res` as indented JSON to `path` (creating its folder) and say where."
    out = Path(path); out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1) + "\n")
    print(f"wrote {out}")
    return out
