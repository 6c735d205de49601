"""Summary tables of repeated runs as text: `mean ± std` strings for the terminal, Markdown and HTML.

Kept apart from the experiments that produce the summaries so reports can format a finished
comparison without importing the code that trains one.
"""

from __future__ import annotations

import pandas as pd

DISPLAY = [
    ("top1", "top-1", 4),
    ("top5", "top-5", 4),
    ("macro_f1", "macro-F1", 4),
    ("log_loss", "log-loss", 4),
    ("train_time_s", "train s", 2),
    ("latency_us", "latency µs", 1),
]


# throughput columns a clip comparison adds (title, digits)
CLIP_RATES = [("train_clips_per_s", "train clips/s", 1), ("clips_per_s", "clips/s", 1)]


def display_table(summary: pd.DataFrame, n_classes: int | None = None) -> pd.DataFrame:
    """Strings `mean ± std` per metric, for the terminal and Markdown. top-5 is left out when
    `n_classes` <= 5 (it is then 1 by definition); a clip comparison's clips/s columns are added
    when the summary has them, and its latency is one clip's."""
    table = pd.DataFrame({"config": summary["config"], "runs": summary["runs"]})
    shown = [row for row in DISPLAY if not (row[0] == "top5" and n_classes is not None and n_classes <= 5)]
    clips = "clips_per_s_mean" in summary
    shown += [row for row in CLIP_RATES if clips]
    for column, title, digits in shown:
        title = "clip latency µs" if clips and column == "latency_us" else title
        table[title] = [
            f"{m:.{digits}f} ± {s:.{digits}f}" for m, s in zip(summary[f"{column}_mean"], summary[f"{column}_std"])
        ]
    table["params"] = [f"{int(p):,}" for p in summary["param_count"]]
    return table


def markdown_table(table: pd.DataFrame) -> str:
    header = "| " + " | ".join(table.columns) + " |"
    rule = "|" + "|".join("---" if i == 0 else "---:" for i in range(len(table.columns))) + "|"
    rows = ["| " + " | ".join(str(value) for value in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([header, rule, *rows]) + "\n"
