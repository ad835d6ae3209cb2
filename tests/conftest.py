import os
from pathlib import Path

# Tests read d2l's book from the shared data folder (CI lays it beside the repo)
# rather than downloading it; a run can still override CHARRNN_DATA_DIR.
_SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
if "CHARRNN_DATA_DIR" not in os.environ and (_SHARED / "timemachine.txt").exists():
    os.environ["CHARRNN_DATA_DIR"] = str(_SHARED)
os.environ.setdefault("CHARRNN_THREADS", "1")
