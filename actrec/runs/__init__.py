"""Training runs: a RUN folder with the model, its metrics and reports, built by one call.

`sequences.train_run` and `clips.train_clip_run` train, evaluate and report; both go through
`life_cycle.build_in_partial` (RUN/partial, the folder lock, publish, resume), so every run leaves
the same files and survives a stop the same way. `config_file` reads training options from YAML.
"""
