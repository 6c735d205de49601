"""Gradient training: the network trained by Lightning's loop (`training/fit.py`) on the
featurised splits, with checkpoints per epoch and resume; its history is one row per epoch."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from actrec.features.pipeline import FeaturePipeline
from actrec.training.strategies import FitOutcome, FitTask, Host


class GradientTraining:
    name = "gradient"

    def fit(self, host: Host, task: FitTask) -> FitOutcome:
        """Fit the pipeline on the training split, build the network (seeded first, so the seed
        fixes its initial weights) and train it; checkpoints in `work_dir/checkpoints`."""
        import lightning as L

        from actrec.training.data import ArrayDataset, AugmentedDataset, SequenceDataModule
        from actrec.training.fit import fit_loop

        train, validation, config = task.train, task.validation, host.config
        host.pipeline = pipeline = FeaturePipeline(host.default_steps(task.dataset))
        train_features = pipeline.fit_transform(train.X, train.lengths)
        host.n_features = int(train_features.shape[-1])
        val_features = host.features(validation)
        L.seed_everything(config.seed, workers=True, verbose=False)
        network = host.build_network()
        train_set: Any = ArrayDataset(train_features, train.lengths, train.labels)
        if config.augment:
            from actrec.features.augment import build_augmenter

            augmenter = build_augmenter(config.augment, host.schema)
            if augmenter is not None:
                train_set = AugmentedDataset(
                    train.X, train.lengths, train.labels, augmenter, pipeline.transform, config.seed
                )
        # what a checkpoint must share with the run resuming it (after build_network, which may
        # complete model_options)
        run = {
            "config": asdict(config),
            "label_names": host.label_names,
            "n_features": host.n_features,
            "n_train": train.n_samples,
        }
        val_set = ArrayDataset(val_features, validation.lengths, validation.labels)
        data = SequenceDataModule(
            train_set, val_set, config.batch_size, config.seed, config.sampler == "balanced", train.labels
        )
        fitted = fit_loop(
            network,
            config,
            data,
            train.labels,
            len(host.label_names),
            run,
            checkpoint_dir=None if task.work_dir is None else Path(task.work_dir) / "checkpoints",
            resume_from=task.resume_from,
            progress=task.progress,
        )
        notes = []
        if fitted.cut_by_time_budget:
            notes.append(
                f"--time-budget stopped training after {len(fitted.history)} of {config.epochs} epochs; "
                "a run cut by the clock is not reproducible (drop the budget, or lower --epochs)"
            )
        return FitOutcome(
            network,
            fitted.history,
            notes=notes,
            cut_by_time_budget=fitted.cut_by_time_budget,
            is_main_process=fitted.is_main_process,
            world_size=fitted.world_size,
        )
