"""The data's own faults, found before they cap accuracy or inflate it.

`audit_dataset(data, test)` checks class balance, sample lengths, constant and NaN channels,
exact and near-duplicate samples across splits, groups on both sides of a split, and lists
label-noise candidates: samples whose out-of-fold predicted probabilities disagree with their
label (confident learning, `cleanlab.filter.find_label_issues`). Each finding names the sample id,
group and time span so a person can open the recording and check it.

The parts are split by what they need: `data_checks` the data alone (no torch, so importing it
loads no model code), `label_noise` out-of-fold models, `report` the sentences and files; `run`
is the whole audit, and `result` types what they return.
"""
