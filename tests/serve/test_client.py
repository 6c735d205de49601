"""`actrec.serve.client` and `actrec stream --server` against a real server on a loopback port: the
remote stream gives the events of the local one, pipelined sends come back in order, refusals
become one-line errors."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from actrec.cli import app as cli
from actrec.errors import ConfigError, DataError

pytest.importorskip("websockets")
from actrec.serve.client import StreamClient, remote_model


def test_stream_to_a_server_gives_the_events_of_a_local_stream(live_server, gru_run, session_csv, tmp_path):
    url, token = live_server
    local, remote = tmp_path / "local.jsonl", tmp_path / "remote.jsonl"
    runner = CliRunner()
    local_result = runner.invoke(
        cli, ["stream", str(gru_run), "--source", f"csv:{session_csv}", "--events", str(local), "--fast"]
    )
    remote_result = runner.invoke(
        cli,
        [
            "stream",
            "gru",
            "--server",
            url,
            "--token",
            token,
            "--source",
            f"csv:{session_csv}",
            "--events",
            str(remote),
            "--fast",
        ],
    )
    assert local_result.exit_code == 0 and remote_result.exit_code == 0, remote_result.output
    assert remote.read_text() == local.read_text() and local.read_text().count("\n") >= 4
    summary = " ".join(remote_result.output.split())  # whatever width the terminal wraps it at
    assert f"served by {url}" in summary and "300 frames, 300 recognized, 0 dropped" in summary


def test_stream_to_a_server_prints_the_rules_the_session_runs_with_the_flags_given(live_server, session_csv):
    url, token = live_server
    result = CliRunner().invoke(
        cli,
        [
            "stream",
            "gru",
            "--server",
            url,
            "--token",
            token,
            "--source",
            f"csv:{session_csv}",
            "--fast",
            "--enter",
            "0.55",
            "--vote-k",
            "2",
            "--vote-n",
            "4",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = " ".join(result.output.split())
    assert (
        "rules: enter 0.55" in summary
        and "vote 2 of 4" in summary
        and "the served session's, with the flags given" in summary
    )


def test_stream_to_a_server_with_a_wrong_token_or_model_is_one_line(live_server, session_csv):
    url, token = live_server
    runner = CliRunner()
    wrong_token = runner.invoke(
        cli, ["stream", "gru", "--server", url, "--token", "nope", "--source", f"csv:{session_csv}"]
    )
    wrong_model = runner.invoke(
        cli, ["stream", "lstm", "--server", url, "--token", token, "--source", f"csv:{session_csv}"]
    )
    assert wrong_token.exit_code == 2 and "HTTP 401" in wrong_token.output
    assert wrong_model.exit_code == 2 and "no model 'lstm'; it serves: gru" in wrong_model.output


def test_a_burst_of_pipelined_frames_is_decided_in_order_and_every_drop_is_counted(live_server):
    url, token = live_server
    model = remote_model(url, "gru", token)
    frames = np.random.default_rng(0).normal(size=(80, len(model.feature_names))).astype(np.float32)
    frames[79, 1] = np.nan  # an undetected value travels as null
    with StreamClient(url, "gru", token=token, rules={"enter": 0.7, "exit": 0.5}, probabilities=True) as client:
        assert client.opened["rules"]["enter"] == 0.7
        for index, frame in enumerate(frames):  # faster than 30 fps: the session queue (16) may overflow
            client.send(frame, index / 30.0)
        replies = []
        while not replies or replies[-1]["seq"] != 79:
            replies.append(client.receive())
            assert replies[-1]["type"] == "decision"
        with pytest.raises(DataError, match="frame 80: 'x' has shape"):
            client.push([1.0, 2.0], 3.0)
    seqs = [reply["seq"] for reply in replies]
    assert seqs == sorted(seqs) and seqs[-1] == 79  # in order; the newest frame is never the one dropped
    assert all(reply["dropped"] == reply["seq"] - index for index, reply in enumerate(replies))
    assert [reply["frame"] for reply in replies] == list(range(len(replies)))
    assert all(len(reply["probabilities"]) == len(model.label_names) for reply in replies)
    assert client.closed == {
        "type": "closed",
        "events": client.closed["events"],
        "frames": len(replies),
        "dropped": 80 - len(replies),
        "errors": 1,
    }


def test_a_client_for_an_unreachable_server_says_so():
    with pytest.raises(ConfigError, match="cannot reach the server"):
        remote_model("http://127.0.0.1:9", "gru")
    with pytest.raises(ConfigError, match="give the server's address"):
        remote_model("localhost:8000", "gru")
