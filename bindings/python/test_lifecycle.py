"""The app's life through the generated Python module, each step a new process
(bindings/python/lifecycle_app.py): create and share, restart and restore (an
impostor is reported, not pinned), lock (every call fails), a rolled-back or
missing state (every verified mark dropped, and said), a member who reinstalls
(both fingerprints shown, accepted), and everyone opening from scratch.
"""

import os
import subprocess
import sys
from pathlib import Path

APP = Path(__file__).with_name("lifecycle_app.py")


def run(step, root):
    done = subprocess.run(
        [sys.executable, str(APP), step, str(root)],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"step {step} failed:\n{done.stdout}\n{done.stderr}"
    assert f"lifecycle step {step}: ok" in done.stdout


def test_restart_lock_and_rollback(tmp_path):
    for step in ("setup", "restart", "restart", "rollback"):
        run(step, tmp_path)


def test_a_member_reinstalls(tmp_path):
    for step in ("setup", "reinstall", "from_scratch"):
        run(step, tmp_path)
