"""The baseline: the assistant `rasa init --no-prompt` creates, with Rasa's default config.

It is created and trained once per Rasa version in bench/results/tmp/ (git-ignored); later
runs reuse the model and the training time measured when it was made.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import rasa

from tests.servers import ROOT, VENV_BIN, quiet_env

CACHE = ROOT / "bench" / "results" / "tmp"


@dataclass
class Baseline:
    project: Path
    model: Path
    training_seconds: float
    trained_at: str
    cached: bool


def baseline(log=print) -> Baseline:
    project = CACHE / f"rasa-init-{rasa.__version__}"
    record = project / "bench-training.json"
    if record.exists():
        saved = json.loads(record.read_text())
        return Baseline(project, project / saved["model"], saved["training_seconds"], saved["trained_at"], cached=True)
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir(parents=True)
    log(f"Creating and training the baseline (rasa init --no-prompt, Rasa {rasa.__version__}); once per Rasa version")
    started = time.perf_counter()
    result = subprocess.run(
        [str(VENV_BIN / "rasa"), "init", "--no-prompt", "--init-dir", str(project)],
        cwd=project,
        env=quiet_env(),
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    models = sorted((project / "models").glob("*.tar.gz"))
    if result.returncode != 0 or not models:
        raise RuntimeError(f"rasa init failed ({result.returncode}):\n{(result.stdout + result.stderr)[-3000:]}")
    trained_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    record.write_text(
        json.dumps(
            {"model": str(models[-1].relative_to(project)), "training_seconds": seconds, "trained_at": trained_at}
        )
    )
    return Baseline(project, models[-1], seconds, trained_at, cached=False)
