"""The chaos test's other-installation mode (JITGATE_CHAOS_BIN) fails, never skips, on a
directory that is not an installation, and runs the Procfile's commands as written."""

from pathlib import Path

import pytest

from tests.integration.stack import ROOT, Stack, procfile_argv


def test_a_directory_without_the_procfiles_executables_is_refused(tmp_path):
    (tmp_path / "jitgate").write_text("#!/bin/sh\n")  # celery and python are missing
    with pytest.raises(FileNotFoundError, match="celery, python"):
        Stack(installed=tmp_path)
    with pytest.raises(FileNotFoundError):
        Stack(installed=tmp_path / "missing")


def test_the_procfiles_commands_run_as_written_but_on_loopback(tmp_path):
    procfile = (ROOT / "Procfile").read_text().splitlines()
    lines = dict(line.split(": ", 1) for line in procfile)
    web = procfile_argv("web", port=8123, beat_schedule=tmp_path / "s")
    assert web == ["jitgate", "serve", "--host", "127.0.0.1", "--port", "8123"]
    for entry in ("worker", "deliveries"):
        assert procfile_argv(entry, port=0, beat_schedule=Path("x")) == lines[entry].split()
    beat = procfile_argv("beat", port=0, beat_schedule=tmp_path / "s")
    assert beat == lines["beat"].replace("/tmp/jitgate-beat-schedule", str(tmp_path / "s")).split()
