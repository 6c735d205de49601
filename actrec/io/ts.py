"""Read UEA/UCR `.ts` files (the time-series classification archive format) without aeon.

A `.ts` file is text: `#` (or `%`) comment lines, `@` header lines (`@problemName`, `@univariate`,
`@dimensions`, `@equalLength`, `@classLabel true a b c`), then `@data` and one line per case:
dimensions separated by `:`, values by `,`, `?` for a missing value (read as NaN), and the class
label last when `@classLabel true`. Univariate and multivariate, equal and unequal lengths are
read; unequal cases are zero-padded with `lengths` (never truncated).

Result: `X [N, T, D]` float32 (the archive's dimensions become features `dim_0..dim_{D-1}`) and
the `@classLabel` names in header order (`label_order`), so a `_TRAIN.ts` and its `_TEST.ts`
share one order once `actrec.data.loading` encodes them.
Labels keep their case as written (aeon's own loader lower-cases them). Time-stamped
(`@timeStamps true`) and regression (`@targetLabel`) files are refused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from actrec.errors import DataError
from actrec.io.arrays import SequenceArrays, pad_sequences


def _parse_header(line: str, header: dict[str, list[str]], source: str, line_number: int) -> None:
    if not line[1:].strip():
        raise DataError(f"{source} line {line_number}: '@' names no header; write e.g. @problemName or @data")
    key, *words = line[1:].split()
    key = key.lower()
    if key == "timestamps" and words and words[0].lower() == "true":
        raise DataError(f"{source} line {line_number}: time-stamped .ts files are not supported; save values only")
    if key == "targetlabel" and words and words[0].lower() == "true":
        raise DataError(
            f"{source} line {line_number}: a regression file (@targetLabel); actrec classifies, it needs @classLabel"
        )
    header[key] = words


def _parse_case(line: str, has_labels: bool, source: str, line_number: int) -> tuple[np.ndarray, str | None]:
    """One data line -> `[T, D]` float64 values and its label (None when the file has no labels)."""
    parts = line.split(":")
    label = parts.pop().strip() if has_labels else None
    if not parts:
        raise DataError(f"{source} line {line_number}: no values before the label; expected v1,v2,...:label")
    dimensions = []
    for index, part in enumerate(parts):
        try:
            dimensions.append(np.array(part.replace("?", "NaN").split(","), dtype=np.float64))
        except ValueError:
            bad = next(v for v in part.split(",") if v.strip() != "?" and not _is_number(v))
            raise DataError(
                f"{source} line {line_number} dimension {index}: '{bad.strip()}' is not a number; use '?' for missing values"
            ) from None
    if len({d.shape[0] for d in dimensions}) != 1:
        sizes = ", ".join(str(d.shape[0]) for d in dimensions)
        raise DataError(
            f"{source} line {line_number}: dimensions have different lengths ({sizes}); every dimension of a case needs the same steps"
        )
    return np.stack(dimensions, axis=1), label


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_ts(path: str | Path) -> SequenceArrays:
    """Read a `.ts` file; its `@classLabel` names come back as `label_order`."""
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DataError(f"{source}: not a text .ts file; expected UEA/UCR .ts text") from None
    header: dict[str, list[str]] = {}
    cases: list[np.ndarray] = []
    raw_labels: list[str] = []
    lines_of_cases: list[int] = []
    in_data = False
    has_labels = False
    for line_number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", "%")):
            continue
        if not in_data:
            if not line.startswith("@"):
                raise DataError(
                    f"{source} line {line_number}: data before '@data'; a .ts file needs its @ header first"
                )
            _parse_header(line, header, source, line_number)
            in_data = "data" in header
            has_labels = [w.lower() for w in header.get("classlabel", ["false"])[:1]] == ["true"]
            continue
        values, label = _parse_case(line, has_labels, source, line_number)
        if cases and values.shape[1] != cases[0].shape[1]:
            raise DataError(
                f"{source} line {line_number}: {values.shape[1]} dimensions, but the first case has "
                f"{cases[0].shape[1]}; every case needs the same dimensions"
            )
        cases.append(values)
        lines_of_cases.append(line_number)
        if label is not None:
            raw_labels.append(label)
    if not in_data:
        raise DataError(f"{source}: no '@data' line; is this a UEA/UCR .ts file?")
    if not cases:
        raise DataError(f"{source}: no cases after '@data'")
    ids = [str(i) for i in range(len(cases))]
    X, lengths = pad_sequences(cases, source=source, ids=ids)
    declared = None
    if has_labels:
        declared = header["classlabel"][1:]
        undeclared = [i for i, label in enumerate(raw_labels) if declared and label not in declared]
        if undeclared:
            first = undeclared[0]
            raise DataError(
                f"{source} line {lines_of_cases[first]}: label '{raw_labels[first]}' is not declared in "
                "@classLabel; add it to the header or fix the label"
            )
    return SequenceArrays(
        X=X,
        lengths=lengths,
        source=source,
        labels=np.array(raw_labels, dtype=object) if has_labels else None,
        label_order=declared or None,
        ids=np.array(ids, dtype=object),
        feature_names=[f"dim_{d}" for d in range(X.shape[2])],
    )
