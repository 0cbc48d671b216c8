"""The notebooks in notebooks/ run end to end (nbclient + ipykernel), so they cannot rot.

Each opens a store built from sample_logs/ through the public library API only. Their outputs
are stripped in git: this test also fails when a notebook is committed with outputs.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="pip install -e '.[test]' (nbformat, nbclient, ipykernel)")
nbclient = pytest.importorskip("nbclient", reason="pip install -e '.[test]' (nbclient, ipykernel)")
pytest.importorskip("ipykernel", reason="pip install -e '.[test]' (ipykernel)")

NB_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NB_DIR.glob("*.ipynb"))
PRIVATE = re.compile(r"^\s*(from logscope\.(?!insights\b)[a-z_.]+ import|import logscope\.(?!insights\b))", re.M)


def test_there_are_three_workflows():
    assert [p.stem[:2] for p in NOTEBOOKS] == ["01", "02", "03"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_outputs_are_stripped_and_api_is_public(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: strip outputs before committing"
            assert not PRIVATE.search(cell.source), f"{path.name}: use the public API (logscope.*, logscope.insights.*)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path):
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NB_DIR)}})
    client.execute()
    images = sum(1 for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {}))
    assert images >= 1, f"{path.name} drew no plot"
