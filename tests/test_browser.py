"""A real browser drives the widget panels, in the two places a course shows them.

* Voila serves `nbs/18_widgets.ipynb` as a dashboard; headless Chromium moves the Iscale slider.
* JupyterLab opens the student lab `nbs/tutorials/student_lab.ipynb`; Chromium runs all its cells from the menu
  (Run > Run All Cells), as a student would, waits for the Iscale panel, and moves its Iscale slider.

Each test checks that the FRR readout, the plot image and the image's words (its `title`, the alt text a screen reader
reads) changed, and saves screenshots to out/ (repo root).
Chromium is Debian's /usr/bin/chromium (or $DYNAPSE_NB_CHROMIUM), driven through Playwright.

Without chromium, playwright, voila or jupyterlab a test is SKIPPED, and the reason says that the browser test did
not run. Only loopback addresses are used: every request to another host is aborted, and Chromium resolves no other
host. A server runs in its own process group and is always stopped (try/finally). JupyterLab runs with its
settings, workspaces and checkpoints in a temporary directory and with autosave off, so the notebook it opens is
left as it was (checked).
"""
import hashlib, importlib.util, json, os, secrets, shutil, signal, socket, subprocess, sys, tempfile, time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "nbs" / "18_widgets.ipynb"
LAB_DIR = ROOT / "nbs" / "tutorials"
LAB_NOTEBOOK = LAB_DIR / "student_lab.ipynb"
OUT = ROOT / "out"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"]
SERVER_START_S, PAGE_LOAD_S, SETTLE_S, CHANGE_S = 60, 240, 2.0, 90
RUN_ALL_S = 300           # JupyterLab: the whole notebook run, from the menu click to an idle kernel


def chromium_path():
    for p in (os.environ.get("DYNAPSE_NB_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if p and Path(p).is_file() and os.access(p, os.X_OK): return p
    return None


def missing(server: str):
    "Why the browser test with `server` (the module that serves the notebook) cannot run here, or None."
    why = []
    if importlib.util.find_spec("playwright") is None: why.append("playwright is not installed (pip install playwright)")
    if importlib.util.find_spec(server) is None: why.append(f"{server} is not installed (pip install {server})")
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


def lab_home(tmp: Path) -> dict:
    """Environment for a JupyterLab of its own under `tmp`: settings (autosave off, no news or update checks),
    workspaces and runtime files there, not in the user's ~/.jupyter."""
    settings = {"@jupyterlab/docmanager-extension/plugin": {"autosave": False},
                "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False}}
    for name, values in settings.items():
        f = tmp / "settings" / f"{name}.jupyterlab-settings"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(values))
    return dict(JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"), JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
                JUPYTER_RUNTIME_DIR=str(tmp / "runtime"))


def start_lab(root_dir: Path, port: int, token: str, tmp: Path, log):
    "JupyterLab on 127.0.0.1:`port` serving `root_dir`, as `make lab` starts it, with its own settings under `tmp`."
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONUNBUFFERED="1", **lab_home(tmp))
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ServerApp.port_retries=0",
           f"--ServerApp.token={token}", "--ServerApp.ip=127.0.0.1", f"--ServerApp.root_dir={root_dir}",
           f"--FileCheckpoints.checkpoint_dir={tmp / 'checkpoints'}",   # absolute: not next to the notebook
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0: cmd.append("--allow-root")
    return subprocess.Popen(cmd, cwd=root_dir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


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


def wait_for_server(port: int, proc, timeout: float, name: str = "voila", log_name: str = "browser_voila.log"):
    "Wait until the server accepts connections on 127.0.0.1:port (a GET would start a kernel, so only connect)."
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None: raise RuntimeError(f"{name} exited with code {proc.returncode}; see out/{log_name}")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(1)
            if s.connect_ex(("127.0.0.1", port)) == 0: return
        time.sleep(0.25)
    raise TimeoutError(f"{name} did not listen on 127.0.0.1:{port} within {timeout} s; see out/{log_name}")


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


def only_loopback(blocked: list):
    "A Playwright route handler: requests to 127.0.0.1/localhost (and data:, blob:) go on, others are aborted."
    def route(r):
        url = r.request.url
        host = url.split("/")[2].split(":")[0] if "://" in url else ""
        if url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"): return r.continue_()
        blocked.append(url)
        return r.abort()
    return route


def move_iscale(page, panel, out_dir: Path, prefix: str) -> dict:
    """Wait for the Iscale panel to settle, screenshot it, move its Iscale slider 30 keyboard steps (0.3 decade:
    Iscale x2), wait for the new state, screenshot again; what was seen before and after."""
    handle = panel.locator(".widget-slider .noUi-handle").nth(1)      # 0: sample, 1: Iscale, 2: Ispkthr ...
    handle.wait_for(state="visible")
    frr, img = panel.locator(".dynapse-frr"), panel.locator("img.dynapse-plot")
    img.wait_for(state="visible")
    panel.scroll_into_view_if_needed()
    state = lambda: (frr.text_content(), img.get_attribute("src"), img.get_attribute("title"))   # the DOM, drawn or not
    before = settled(state, CHANGE_S)
    shot_before = panel.screenshot(path=str(out_dir / f"{prefix}_before.png"))
    handle.focus()
    for _ in range(30): page.keyboard.press("ArrowRight")
    after = settled(state, CHANGE_S, differs_from=before)
    shot_after = panel.screenshot(path=str(out_dir / f"{prefix}_after.png"))
    value = panel.locator(".widget-text input").first.input_value()    # the Iscale factor's text field
    return dict(before=before, after=after, shot_before=shot_before, shot_after=shot_after, value=value)


def check_moved(seen: dict):
    (frr0, src0, title0), (frr1, src1, title1) = seen["before"], seen["after"]
    assert frr0.startswith("FRR") and frr1.startswith("FRR"), (frr0, frr1)
    assert (title0 or "").startswith("Iscale panel, ") and "Iscale ×1," in title0, f"the image's title: {title0!r}"
    assert (title1 or "").startswith("Iscale panel, ") and "Iscale ×1," not in title1, f"the title after: {title1!r}"
    assert frr1 != frr0, f"the FRR readout did not change: {frr0!r}"
    assert src1 != src0 and seen["shot_after"] != seen["shot_before"], "the plot image did not change"
    assert float(seen["value"]) > 1.5, f"the Iscale factor field shows {seen['value']!r} after the move"


def launch(p):
    return p.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_FLAGS, timeout=60_000)


def open_page(browser, url: str, blocked: list, width: int):
    "A new page `width` px wide that may reach only this machine (other requests land in `blocked`), at `url`."
    page = browser.new_page(viewport={"width": width, "height": 1000})
    page.route("**/*", only_loopback(blocked))
    page.set_default_timeout(PAGE_LOAD_S * 1000)
    page.goto(url, wait_until="domcontentloaded")
    return page


def drive(url: str, out_dir: Path) -> dict:
    "Open the dashboard, move the Iscale slider with the keyboard, return what was seen before and after."
    from playwright.sync_api import sync_playwright
    blocked = []
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = open_page(browser, url, blocked, width=1200)
            seen = move_iscale(page, page.locator(".dynapse-iscale-panel").first, out_dir, "browser_iscale")
            page.screenshot(path=str(out_dir / "browser_page.png"), full_page=True)
        finally:
            browser.close()
    return dict(seen, blocked=blocked)


@pytest.mark.skipif(missing("voila") is not None, reason=f"browser test did NOT run: {missing('voila')}")
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
    check_moved(seen)
    (frr0, *_), (frr1, *_) = seen["before"], seen["after"]
    print(f"browser: FRR {frr0!r} -> {frr1!r}; Iscale factor {seen['value']}; "
          f"{len(seen['blocked'])} non-loopback request(s) blocked")


# The status bar says "No Kernel | Initializing" until the notebook's kernel runs, then "Python 3 (ipykernel) | Idle".
KERNEL_READY = """() => [...document.querySelectorAll('.jp-StatusBar-TextItem')]
                         .some(e => /\\| Idle$/.test(e.textContent.trim()) && !e.textContent.includes('No Kernel'))"""


def kernel_status(page) -> str:
    "The notebook's kernel status as its toolbar shows it ('idle', 'busy', ...)."
    return page.locator(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator").first.get_attribute("data-status") or ""


def wait_idle(page, timeout: float, quiet: float = SETTLE_S):
    "Wait until the kernel has been idle for `quiet` seconds (queued cells keep it busy, with short idle gaps)."
    t0, since = time.monotonic(), None
    while time.monotonic() - t0 < timeout:
        if kernel_status(page) != "idle": since = None
        elif since is None: since = time.monotonic()
        elif time.monotonic() - since >= quiet: return
        time.sleep(0.2)
    raise TimeoutError(f"the kernel was not idle within {timeout} s of Run All Cells (status {kernel_status(page)!r})")


def painted(page):
    "Wait for two animation frames: JupyterLab draws the cells scrolled into view before a page screenshot."
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")


def drive_lab(url: str, out_dir: Path) -> dict:
    """Open the student lab in JupyterLab, run all cells from the Run menu, wait for the Iscale panel and the end of
    the run, move the slider; what was seen, the texts of error outputs, and the run's duration."""
    from playwright.sync_api import sync_playwright
    blocked = []
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = open_page(browser, url, blocked, width=1280)
            page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(state="visible")
            page.wait_for_function(KERNEL_READY)
            page.screenshot(path=str(out_dir / "lab_jupyterlab_opened.png"))
            t0 = time.monotonic()
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
            panel = page.locator(".jp-NotebookPanel .dynapse-iscale-panel").first
            panel.locator("img.dynapse-plot").wait_for(state="visible")
            t_panel = time.monotonic() - t0
            wait_idle(page, RUN_ALL_S)
            t_run = time.monotonic() - t0
            errors = page.locator(".jp-NotebookPanel [data-mime-type='application/vnd.jupyter.stderr']").all_inner_texts()
            seen = move_iscale(page, panel, out_dir, "lab_jupyterlab")
            painted(page)
            page.screenshot(path=str(out_dir / "lab_jupyterlab_page.png"))
            answers = page.locator(".jp-NotebookPanel .jp-Cell", has_text="Try the exercises first").first
            answers.scroll_into_view_if_needed()                       # the answers: folded, after the run too
            page.locator(".jp-NotebookPanel summary", has_text="Answer 1").first.wait_for(state="visible")
            painted(page)
            page.screenshot(path=str(out_dir / "lab_jupyterlab_answers.png"))
            folded = dict(code=page.locator(".jp-NotebookPanel .jp-InputPlaceholder").count(),
                          text=page.locator(".jp-NotebookPanel .jp-RenderedMarkdown details:not([open])").count())
        finally:
            browser.close()
    return dict(seen, blocked=blocked, errors=errors, folded=folded, t_panel=t_panel, t_run=t_run)


def digest(path: Path) -> str: return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.skipif(missing("jupyterlab") is not None, reason=f"browser test did NOT run: {missing('jupyterlab')}")
def test_student_lab_in_jupyterlab():
    OUT.mkdir(exist_ok=True)
    port, token = free_port(), secrets.token_hex(16)
    url = f"http://127.0.0.1:{port}/lab/tree/{LAB_NOTEBOOK.name}?token={token}"
    before = digest(LAB_NOTEBOOK)
    checkpoints = (LAB_DIR / ".ipynb_checkpoints").exists()
    with tempfile.TemporaryDirectory() as tmp, open(OUT / "browser_jupyterlab.log", "w") as log:
        proc = start_lab(LAB_DIR, port, token, Path(tmp), log)
        try:
            wait_for_server(port, proc, SERVER_START_S, "jupyter lab", "browser_jupyterlab.log")
            seen = drive_lab(url, OUT)
        finally:
            stop(proc)
    assert not seen["errors"], "the lab wrote to stderr (an error or a warning):\n" + "\n".join(seen["errors"])
    check_moved(seen)
    assert min(seen["folded"].values()) >= 5, f"the five answers should be folded after the run: {seen['folded']}"
    assert digest(LAB_NOTEBOOK) == before, "JupyterLab changed the notebook on disk (autosave should be off)"
    assert (LAB_DIR / ".ipynb_checkpoints").exists() == checkpoints, "JupyterLab left .ipynb_checkpoints behind"
    (frr0, *_), (frr1, *_) = seen["before"], seen["after"]
    print(f"jupyterlab: panel after {seen['t_panel']:.0f} s, whole run {seen['t_run']:.0f} s; FRR {frr0!r} -> "
          f"{frr1!r}; Iscale factor {seen['value']}; folded answers {seen['folded']}; "
          f"{len(seen['blocked'])} non-loopback request(s) blocked")
