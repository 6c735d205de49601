"""Batch jobs: many input files, one output file each (`actrec extract`, `actrec predict`).

Each job plans its (input, output) pairs and refuses clashes before any work, skips inputs whose
output exists (outputs are written atomically, so one that exists is finished), reports every
input in one line with one status, and runs here or as tasks on a Ray cluster (`actrec.cluster`)
with the same files either way. `outputs` holds what the jobs share (plan checks, statuses, the
one progress report); `extract_videos` and `predict_files` are the two jobs.
"""
