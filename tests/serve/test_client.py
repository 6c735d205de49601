"""`actrec.client` and `actrec stream --server` against a real server on a loopback port: the
remote stream gives the events of the local one, pipelined sends come back in order, refusals
become one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from actrec.cli import app as cli
from actrec.errors import ConfigError, DataError

pytest.importorskip("websockets")
from actrec.client import StreamClient, remote_model  # noqa: E402


def test_stream_to_a_server_gives_the_events_of_a_local_stream(live_server, gru_run, session_csv, tmp_path):
    url, token = live_server
    local, remote = tmp_path / "local.jsonl", tmp_path / "remote.jsonl"
    runner = CliRunner()
    local_result = runner.invoke(cli, ["stream", str(gru_run), "--source", f"csv:{session_csv}", "--events", str(local), "--fast"])
    remote_result = runner.invoke(cli, ["stream", "gru", "--server", url, "--token", token, "--source", f"csv:{session_csv}",
                                        "--events", str(remote), "--fast"])
    assert local_result.exit_code == 0 and remote_result.exit_code == 0, remote_result.output
    assert remote.read_text() == local.read_text() and local.read_text().count("\n") >= 4
    assert f"served by {url}" in remote_result.output and "300 frames, 300 recognized, 0 dropped" in remote_result.output


def test_stream_to_a_server_with_a_wrong_token_or_model_is_one_line(live_server, session_csv):
    url, token = live_server
    runner = CliRunner()
    wrong_token = runner.invoke(cli, ["stream", "gru", "--server", url, "--token", "nope", "--source", f"csv:{session_csv}"])
    wrong_model = runner.invoke(cli, ["stream", "lstm", "--server", url, "--token", token, "--source", f"csv:{session_csv}"])
    assert wrong_token.exit_code == 2 and "HTTP 401" in wrong_token.output
    assert wrong_model.exit_code == 2 and "no model 'lstm'; it serves: gru" in wrong_model.output


def test_pipelined_frames_come_back_in_order_with_rules_and_probabilities(live_server):
    url, token = live_server
    model = remote_model(url, "gru", token)
    rng = np.random.default_rng(0)
    frames = rng.normal(size=(40, len(model.feature_names))).astype(np.float32)
    with StreamClient(url, "gru", token=token, rules={"enter": 0.7, "exit": 0.5}, probabilities=True) as client:
        assert client.opened["rules"]["enter"] == 0.7
        for index, frame in enumerate(frames):
            client.send(frame, index / 30.0)
        frames_with_nan = frames[0].copy()
        frames_with_nan[1] = np.nan
        client.send(frames_with_nan, 40 / 30.0)
        replies = [client.receive() for _ in range(41)]
        with pytest.raises(DataError, match="frame 41: 'x' has shape"):
            client.push([1.0, 2.0], 2.0)
    assert [reply["seq"] for reply in replies] == list(range(41))
    assert all(len(reply["probabilities"]) == len(model.label_names) for reply in replies)
    assert client.closed is not None and client.closed["frames"] == 41 and client.closed["errors"] == 1


def test_a_client_for_an_unreachable_server_says_so():
    with pytest.raises(ConfigError, match="cannot reach the server"):
        remote_model("http://127.0.0.1:9", "gru")
    with pytest.raises(ConfigError, match="give the server's address"):
        remote_model("localhost:8000", "gru")
