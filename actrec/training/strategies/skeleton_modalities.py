"""Skeleton modalities (`TrainConfig.modalities`, two or more): one network per modality (joint,
bone, their motions), each trained alone by its own fit, fused as the weighted average of their
probabilities (`models/modalities.py`). Its history is the members' epochs, a `member` column
naming the modality."""

from __future__ import annotations

from dataclasses import asdict
from typing import cast

import pandas as pd
import torch

from actrec.training.averaging import inverse_loss_average, validation_probas, weights_text
from actrec.training.strategies import FitOutcome, FitTask, Host, refuse_resume


class SkeletonModalities:
    name = "skeleton_modalities"

    def fit(self, host: Host, task: FitTask) -> FitOutcome:
        """Weights inversely proportional to each modality's validation log-loss (equal without
        validation samples); a time budget is shared equally between the modalities."""
        from actrec.models.modalities import ModalityFusion

        refuse_resume(
            task.resume_from,
            "resuming is for one network; several modalities train one each, so start the run again",
        )
        config = host.config
        member_config = asdict(config)
        if config.time_budget:
            member_config["time_budget"] = config.time_budget / len(config.modalities)
        members = [
            host.new(**(member_config | {"modalities": [modality]})).fit(
                task.train, validation=task.validation, progress=task.progress
            )
            for modality in config.modalities
        ]
        host.pipeline, host.n_features = members[0].pipeline, members[0].n_features
        fused = cast(ModalityFusion, host.build_network())
        for slot, member in zip(fused.members, members):
            slot.load_state_dict(cast(ModalityFusion, member.network).members[0].state_dict())
        n_classes = len(host.label_names)
        probas = validation_probas(members, task.validation, n_classes)
        averaged = inverse_loss_average(probas, task.validation.labels, n_classes)
        fused.weights.copy_(torch.as_tensor(averaged.weights, dtype=torch.float32))
        fused.eval()
        history = pd.concat(
            [member.history.assign(member=modality) for modality, member in zip(config.modalities, members)],
            ignore_index=True,
        )
        notes = [f"modalities: one {config.model} per modality; weights {weights_text(config.modalities, averaged)}"]
        return FitOutcome(
            fused,
            history,
            validation_proba=averaged.proba,
            notes=notes + [note for member in members for note in member.notes],
            cut_by_time_budget=any(member.cut_by_time_budget_ for member in members),
            is_main_process=members[-1].is_main_process,
            world_size=members[-1].world_size,
        )
