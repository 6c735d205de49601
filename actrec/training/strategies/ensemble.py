"""`model=auto`: members fitted alone, each by its own strategy, then saved as one ensemble
network whose probabilities are their weighted average (`models/ensemble.py`). Its history is the
members' histories (a kernel member's penalty search), each row naming its member and weight,
the row each member kept carrying its validation log-loss / top-1."""

from __future__ import annotations

from typing import Any, cast

import pandas as pd

from actrec.training.averaging import inverse_loss_average, validation_scores
from actrec.training.strategies import FitOutcome, FitTask, Host, refuse_resume

KERNEL_MODEL = "minirocket"


class KernelEnsemble:
    """The default: MiniRocket with level kernels, fitted in closed form, saved as a one-member
    ensemble (the file format for several members).

    MiniRocket rather than MultiRocket-Hydra: with level kernels and half-window reach
    (`actrec.models.rocket`) it had the better mean top-1 over bench/accuracy.py's 13 sets
    (0.892 against 0.878, 2 seeds; aeon's MiniRocket 0.877), fits in about two thirds of the
    time and streams one pool instead of three plus Hydra.

    Chosen from the data alone, never from the clock, so the same seed gives the same model on a
    busy machine as on an idle one; and it streams every frame at a cost that does not grow
    with the window (`actrec.stream.kernels`). A neural member used to take what a time budget
    left, which made the result depend on the machine's load and the stream re-run whole
    windows; `--model inception|gru` trains one on purpose."""

    name = "ensemble"
    members = (KERNEL_MODEL,)

    def fit(self, host: Host, task: FitTask) -> FitOutcome:
        from actrec.models.ensemble import EnsembleNet
        from actrec.models.rocket import RocketNet

        refuse_resume(
            task.resume_from,
            "model 'auto' is fitted in closed form and keeps no checkpoints; train it without --resume",
        )
        fitted = [
            host.new(**(host.member_options() | {"model": model})).fit(task.train, validation=task.validation)
            for model in self.members
        ]
        validation = task.validation
        probas = [member.validation_proba_ for member in fitted]
        n_classes = len(host.label_names)
        averaged = inverse_loss_average(probas, validation.labels, n_classes)
        kernel_network = cast(RocketNet, fitted[0].network)
        settings = kernel_network.config
        why = [
            f"{KERNEL_MODEL} ({', '.join(settings.pooling)} of 84 kernels and {settings.level_kernels} level kernels per dilation), "
            "fitted in closed form; it streams frame by frame at a cost independent of the window"
        ]
        host.config.model_options = {
            "members": [{"model": member.config.model, "options": member.config.model_options} for member in fitted],
            "weights": averaged.weights.tolist(),
            "why": why,
        }
        host.pipeline, host.n_features = fitted[0].pipeline, fitted[0].n_features
        ensemble = cast(EnsembleNet, host.build_network())
        for slot, member in zip(ensemble.members, fitted):
            slot.load_state_dict(member.network.state_dict())
            cast(RocketNet, slot).fitted_summary = cast(RocketNet, member.network).fitted_summary
        ensemble.eval()
        history = pd.concat(
            [
                member_history(
                    member,
                    weight,
                    validation_scores(validation.labels, proba, n_classes) if validation.n_samples else {},
                )
                for member, weight, proba in zip(fitted, averaged.weights, probas)
            ],
            ignore_index=True,
        )
        validation_proba = averaged.proba if averaged.proba is not None else probas[0]
        return FitOutcome(ensemble, history, validation_proba=validation_proba, notes=[f"auto: {'; '.join(why)}"])


def member_history(member: Any, weight: float, scores: dict[str, float]) -> pd.DataFrame:
    """A member's own history (a closed-form fit's penalty search, epochs) with its `member`
    name and `weight` on every row, and its validation scores on the row it kept (the chosen
    penalty, else the last): one member's history draws as its own, several as a members' chart
    (`evaluation.report.history_kind`)."""
    history = member.history.copy() if len(member.history) else pd.DataFrame([{}])
    history.insert(0, "member", member.config.model)
    history.insert(1, "weight", float(weight))
    kept = history["chosen"].eq(True) if "chosen" in history else history.index == history.index[-1]
    for column, value in scores.items():
        history.loc[kept, column] = value
    return history
