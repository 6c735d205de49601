"""The time budget is a guard: when it stops a neural fit, the run says so, since a fit cut by the
clock depends on the machine's load; a fit it never touches says nothing."""

import json

from actrec.config import TrainConfig
from actrec.recognizers import Recognizer
from actrec.runs.sequences import train_run
from tests.helpers.waves import make_waves

GRU = {"hidden_sizes": [8], "dense": []}


def test_a_fit_the_budget_cuts_is_marked_and_explained():
    cut = Recognizer("gru", model_options=GRU, epochs=200, patience=200, time_budget=0.01, seed=0).fit(
        make_waves(n=40, seed=0)
    )
    assert cut.cut_by_time_budget_
    assert len(cut.history) < 200 and any("--time-budget stopped training" in note for note in cut.notes)


def test_a_fit_within_the_budget_is_not_marked(tmp_path):
    data = make_waves(n=40, seed=0)
    train_run(
        data,
        tmp_path / "run",
        TrainConfig(model="gru", model_options=GRU, epochs=2, time_budget=600.0, seed=0),
        progress=False,
    )
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["cut_by_time_budget"] is False
