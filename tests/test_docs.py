"""Docs are checked: every command has help, every query its header, the README its schema."""
import re

import pytest
from typer.testing import CliRunner

from logscope import queries
from logscope.cli import app
from logscope.schema import EVENT_COLUMNS
from conftest import ROOT

README = (ROOT / "README.md").read_text()


def test_readme_opens_with_the_two_setup_commands():
    block = re.search(r"```\n(.*?)```", README, re.S).group(1).strip().splitlines()
    assert block == ["python3 dev.py demo", "python3 dev.py test"]


def test_readme_documents_every_column():
    for name, _, _ in EVENT_COLUMNS:
        assert f"`{name}`" in README, f"README lacks the events column {name}"


def test_ci_runs_the_readme_test_command():
    assert "python3 dev.py test" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("cmd", sorted(c.name or c.callback.__name__ for c in app.registered_commands))
def test_every_command_has_help(cmd):
    r = CliRunner().invoke(app, [cmd, "--help"])
    assert r.exit_code == 0
    assert len(r.output.split("Options")[0].strip()) > 60, f"{cmd} --help teaches too little"


@pytest.mark.parametrize("name", sorted(queries.available()))
def test_every_query_has_a_header(name):
    q = queries.available()[name]
    assert q.header, f"queries/{name}.sql has no leading comment"
    assert "Grain" in q.header or "grain" in q.header, f"queries/{name}.sql header does not state its grain"
    for p in q.params:
        assert p in q.header, f"queries/{name}.sql does not document ${p}"


def test_every_view_file_has_a_header():
    for p in sorted((queries.QUERY_DIR / "views").glob("*.sql")):
        assert p.read_text().startswith("--"), f"{p.name} has no header comment"


def test_readme_lists_every_event_kind():
    from logscope import grammars

    for g in grammars.load():
        for k in grammars.kinds(g):
            assert f"`{k}`" in README, f"README lacks the {g.name} kind {k}"
