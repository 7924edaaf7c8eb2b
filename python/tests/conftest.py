"""Shared helpers: the CLI's rows and rejects for the same inputs, from the built binary."""

import json
import os
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATE = "2026-01-15"


def binary() -> str:
    """The `trajkit` binary: $TRAJKIT_BIN, else the newest of target/{release,debug}/trajkit."""
    if os.environ.get("TRAJKIT_BIN"):
        return os.environ["TRAJKIT_BIN"]
    found = [p for p in (ROOT / "target/release/trajkit", ROOT / "target/debug/trajkit") if p.exists()]
    if not found:
        pytest.fail("no trajkit binary: run `cargo build` (or set TRAJKIT_BIN)")
    return str(max(found, key=lambda p: p.stat().st_mtime))


def cli(path: str, *flags: str):
    """`trajkit convert PATH FLAGS` run from the repository root: (its stdout lines, its --rejects
    lines as dicts)."""
    with tempfile.TemporaryDirectory() as tmp:
        rejects = os.path.join(tmp, "rejects.jsonl")
        done = subprocess.run(
            [binary(), "convert", path, "--date", DATE, "-q", "--rejects", rejects, *flags],
            cwd=ROOT,
            capture_output=True,
        )
        assert done.returncode == 0, done.stderr.decode()
        out = done.stdout.decode("utf-8")
        with open(rejects, encoding="utf-8") as f:
            reject_lines = [json.loads(line) for line in f if line.strip()]
    return out.splitlines(), reject_lines


def read_lines(path: str):
    """The file's lines as the `text` loader and the CLI see them (1-based line = index + 1)."""
    with open(ROOT / path, encoding="utf-8") as f:
        return f.read().splitlines()


@pytest.fixture(autouse=True)
def _at_root(monkeypatch):
    # Fixture paths are relative to the repository root, as the CLI is run from there.
    monkeypatch.chdir(ROOT)
