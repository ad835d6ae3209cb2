"""`streamlit run app.py` for the tests: a fresh server on a free loopback port."""
from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SERVER_START_TIMEOUT = 60   # seconds until /_stcore/health answers "ok"
SERVER_STOP_TIMEOUT = 10    # seconds between terminate and kill


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, n=4000) -> str:
    try:
        return path.read_text("utf-8", errors="replace")[-n:]
    except OSError:
        return ""


def wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode} before it was "
                               f"healthy; its log ({log}):\n{_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200 and resp.read().strip() == b"ok":
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"streamlit did not answer {url} within {timeout:.0f} s; "
                       f"its log ({log}):\n{_tail(log)}")


@contextmanager
def streamlit_run(log: Path, env: dict, headless: bool = True, base_path: str = ""):
    """Yields (the app's URL, the server's process) once the server is healthy.

    Training gets one core (CHARRNN_THREADS=1 unless `env` says otherwise);
    `base_path` is server.baseUrlPath (the app's URL ends with it)."""
    port = free_port()
    env = {"CHARRNN_THREADS": "1", **env, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py",
           "--server.headless", "true" if headless else "false",
           "--server.port", str(port), "--server.address", "127.0.0.1",
           "--browser.gatherUsageStats", "false", "--server.showEmailPrompt", "false",
           # others edit the tree while tests run: a "File change. Rerun?" prompt
           # must not appear mid-test (and watching costs CPU on a small runner)
           "--server.fileWatcherType", "none", "--server.runOnSave", "false",
           "--server.baseUrlPath", base_path]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}" + (f"/{base_path.strip('/')}" if base_path.strip("/") else "")
    try:
        wait_healthy(f"{base}/_stcore/health", proc, log, SERVER_START_TIMEOUT)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(SERVER_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
