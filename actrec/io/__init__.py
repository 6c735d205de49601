"""Readers and writers. Sequence readers (`npz`, `npy`, `long_csv`, `ts`) return `arrays.SequenceArrays`;
`actrec.data.loading.load_dataset` turns any `--data` spec into a SequenceDataset."""
