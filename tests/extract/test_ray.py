"""`actrec extract --ray`: videos spread over a private Ray head (tests/helpers/ray_head.py) give the same
files as a local run, and a failing video is reported the same way."""

import numpy as np
from typer.testing import CliRunner

from actrec.cli import app
from tests.extract.test_extract import needs_video, write_clip
from tests.helpers.ray_head import free_port, skip_without_ray

pytestmark = needs_video
skip_without_ray()


def test_extraction_over_ray_writes_the_files_a_local_run_writes(tmp_path, ray_head):
    for name, frames in (("a.avi", 5), ("b.avi", 7)):
        write_clip(tmp_path / "videos" / "walk" / name, frames)
    (tmp_path / "videos" / "walk" / "broken.avi").write_bytes(b"not a video")
    runner = CliRunner()
    local = runner.invoke(app, ["extract", str(tmp_path / "videos"), "--out", str(tmp_path / "local")])
    remote = runner.invoke(
        app, ["extract", str(tmp_path / "videos"), "--out", str(tmp_path / "remote"), "--ray", ray_head]
    )
    assert local.exit_code == remote.exit_code == 2, remote.output
    assert "broken.avi" in remote.output and "2 of 3 videos" in remote.output
    for name in ("a", "b"):
        with (
            np.load(tmp_path / "local" / "walk" / f"{name}.npz") as here,
            np.load(tmp_path / "remote" / "walk" / f"{name}.npz") as there,
        ):
            assert sorted(here.files) == sorted(there.files)
            for key in here.files:
                np.testing.assert_array_equal(here[key], there[key], err_msg=key)
    # resumable like a local run: finished outputs are skipped
    again = runner.invoke(
        app, ["extract", str(tmp_path / "videos"), "--out", str(tmp_path / "remote"), "--ray", ray_head]
    )
    assert again.output.count("skip") == 2


def test_an_unreachable_cluster_is_one_line(tmp_path):
    write_clip(tmp_path / "videos" / "a.avi", 2)
    result = CliRunner().invoke(
        app, ["extract", str(tmp_path / "videos"), "--out", str(tmp_path / "out"), "--ray", f"127.0.0.1:{free_port()}"]
    )
    assert result.exit_code != 0 and "--ray" in result.output and "Traceback" not in result.output
