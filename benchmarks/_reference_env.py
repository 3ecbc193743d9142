"""Shared set-up of the reference-side scripts (`reference_*.py`, run under a Rockpool venv): keep stdout for the
one JSON object each script prints, and write that object."""
import contextlib, json, logging, os, sys, warnings

os.environ.setdefault("JAX_PLATFORMS", "cpu")


@contextlib.contextmanager
def quiet():
    "Send anything printed to stderr and silence warnings/logging (Rockpool warns about samna/torch at import)."
    with contextlib.redirect_stdout(sys.stderr):
        logging.disable(logging.WARNING)
        warnings.filterwarnings("ignore")
        yield


def emit(res: dict, out: str | None = None) -> dict:
    "Print `res` as JSON on stdout, and also write it to `out` when given."
    text = json.dumps(res, indent=1)
    if out:
        with open(out, "w") as f:
            f.write(text + "\n")
    print(text)
    return res
