"""A real browser drives the widget panels: Voila serves `nbs/12_widgets.ipynb` on 127.0.0.1, headless Chromium
(Debian's /usr/bin/chromium, through Playwright) moves the Iscale slider, and the test checks that the FRR readout
and the plot image changed. Screenshots before and after the move go to out/ (repo root).

Without chromium, playwright or voila the test is SKIPPED, and the reason says that the browser test did not run.
Only loopback addresses are used: every request to another host is aborted, and Chromium resolves no other host.
The Voila server runs in its own process group and is always stopped (try/finally).
"""
import importlib.util, os, shutil, signal, socket, subprocess, sys, time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "nbs" / "12_widgets.ipynb"
OUT = ROOT / "out"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"]
SERVER_START_S, PAGE_LOAD_S, SETTLE_S, CHANGE_S = 60, 240, 2.0, 90


def chromium_path():
    for p in (os.environ.get("DYNAPSE_NB_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if p and Path(p).is_file() and os.access(p, os.X_OK): return p
    return None


def missing():
    "Why the browser test cannot run here, or None."
    why = []
    if importlib.util.find_spec("playwright") is None: why.append("playwright is not installed (pip install playwright)")
    if importlib.util.find_spec("voila") is None: why.append("voila is not installed (pip install voila)")
    if chromium_path() is None: why.append("no chromium at /usr/bin/chromium (apt-get install -y chromium)")
    return "; ".join(why) or None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_voila(notebook: Path, port: int, log):
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "voila", str(notebook), "--no-browser", "--Voila.ip=127.0.0.1", f"--port={port}",
           "--show_tracebacks=True", "--ServerApp.open_browser=False"]
    return subprocess.Popen(cmd, cwd=notebook.parent, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop(proc):
    "Stop the server's whole process group (the server and its kernel): SIGTERM, then SIGKILL."
    if proc.poll() is not None: return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        try: os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError: pass
        proc.wait(timeout=10)


def wait_for_server(port: int, proc, timeout: float):
    "Wait until the server accepts connections on 127.0.0.1:port (a GET would start a kernel, so only connect)."
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None: raise RuntimeError(f"voila exited with code {proc.returncode}; see out/browser_voila.log")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(1)
            if s.connect_ex(("127.0.0.1", port)) == 0: return
        time.sleep(0.25)
    raise TimeoutError(f"voila did not listen on 127.0.0.1:{port} within {timeout} s")


def settled(read, timeout: float, differs_from=None, quiet: float = SETTLE_S):
    "Poll `read()` until it differs from `differs_from` (if given) and stays the same for `quiet` seconds."
    t0, last, since = time.monotonic(), None, time.monotonic()
    while time.monotonic() - t0 < timeout:
        now = read()
        if now != last: last, since = now, time.monotonic()
        elif (differs_from is None or now != differs_from) and time.monotonic() - since >= quiet: return now
        time.sleep(0.2)
    raise TimeoutError(f"the panel did not settle{' on a new state' if differs_from is not None else ''} within "
                       f"{timeout} s; last state: {last!r:.300}")


def drive(url: str, out_dir: Path) -> dict:
    "Open the dashboard, move the Iscale slider with the keyboard, return what was seen before and after."
    from playwright.sync_api import sync_playwright
    blocked = []

    def only_loopback(route):
        host = route.request.url.split("/")[2].split(":")[0] if "://" in route.request.url else ""
        if route.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
            return route.continue_()
        blocked.append(route.request.url)
        return route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_FLAGS,
                                    timeout=60_000)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1000})
            page.route("**/*", only_loopback)
            page.set_default_timeout(PAGE_LOAD_S * 1000)
            page.goto(url, wait_until="domcontentloaded")
            panel = page.locator(".dynapse-iscale-panel").first
            handle = panel.locator(".widget-slider .noUi-handle").nth(1)      # 0: sample, 1: Iscale, 2: Ispkthr ...
            handle.wait_for(state="visible")
            frr = panel.locator(".dynapse-frr")
            img = panel.locator("img.dynapse-plot")
            img.wait_for(state="visible")
            state = lambda: (frr.inner_text(), img.get_attribute("src"))
            before = settled(state, CHANGE_S)
            panel.scroll_into_view_if_needed()
            shot_before = panel.screenshot(path=str(out_dir / "browser_iscale_before.png"))
            handle.focus()
            for _ in range(30): page.keyboard.press("ArrowRight")     # 30 steps of 0.01 decade: Iscale x 2
            after = settled(state, CHANGE_S, differs_from=before)
            shot_after = panel.screenshot(path=str(out_dir / "browser_iscale_after.png"))
            page.screenshot(path=str(out_dir / "browser_page.png"), full_page=True)
            value = panel.locator(".widget-text input").first.input_value()    # the Iscale factor's text field
        finally:
            browser.close()
    return dict(before=before, after=after, shot_before=shot_before, shot_after=shot_after, value=value,
                blocked=blocked)


@pytest.mark.skipif(missing() is not None, reason=f"browser test did NOT run: {missing()}")
def test_iscale_slider_in_a_real_browser():
    OUT.mkdir(exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    with open(OUT / "browser_voila.log", "w") as log:
        proc = start_voila(NOTEBOOK, port, log)
        try:
            wait_for_server(port, proc, SERVER_START_S)
            seen = drive(url, OUT)
        finally:
            stop(proc)
    (frr0, src0), (frr1, src1) = seen["before"], seen["after"]
    assert frr0.startswith("FRR") and frr1.startswith("FRR"), (frr0, frr1)
    assert frr1 != frr0, f"the FRR readout did not change: {frr0!r}"
    assert src1 != src0 and seen["shot_after"] != seen["shot_before"], "the plot image did not change"
    assert float(seen["value"]) > 1.5, f"the Iscale factor field shows {seen['value']!r} after the move"
    print(f"browser: FRR {frr0!r} -> {frr1!r}; Iscale factor {seen['value']}; "
          f"{len(seen['blocked'])} non-loopback request(s) blocked")
