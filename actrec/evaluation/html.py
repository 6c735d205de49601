"""One self-contained HTML page for a RUN, compare, sweep or audit folder.

Images are embedded as base64 PNG and the style is inline, so the file can be mailed or attached
to a ticket and opens anywhere, offline: the page makes no request to any URL.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

import pandas as pd

from actrec.errors import ConfigError
from actrec.io.atomic import write_text_atomic

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { border-bottom: 3px solid #2a6fb0; padding-bottom: .3em; }
h2 { color: #2a6fb0; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .5em 0; font-size: 14px; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
th { background: #e8f0f8; } td:first-child, th:first-child { text-align: left; }
tr:nth-child(even) td { background: #f7f7f7; }
pre { background: #f4f4f4; padding: 1em; overflow-x: auto; font-size: 13px; }
img { max-width: 100%; border: 1px solid #ddd; margin: .5em 0; }
.finding { background: #fff4e0; border-left: 4px solid #e08a00; padding: .4em .8em; margin: .3em 0; }
.ok { background: #e9f7ec; border-left: 4px solid #2a9d4a; padding: .4em .8em; }
"""

IMAGE_TITLES = {
    "curves.png": "Training curves",
    "confusion.png": "Confusion matrix (test)",
    "accuracy_vs_latency.png": "Accuracy against latency",
    "pareto.png": "Pareto front: accuracy against latency",
}


def table_html(frame: pd.DataFrame, digits: int = 4) -> str:
    """An escaped HTML table (pandas escapes cell text)."""
    return frame.to_html(index=False, escape=True, float_format=lambda v: f"{v:.{digits}f}", border=0)


def image_html(path: Path, title: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<h2>{html.escape(title)}</h2>\n<img alt="{html.escape(title)}" src="data:image/png;base64,{data}">'


def as_yaml(value: Any) -> str:
    """Compact YAML (short lists inline), the format users write configurations in."""
    import yaml

    return yaml.safe_dump(value, sort_keys=False, default_flow_style=None)


def pre_html(title: str, text: str) -> str:
    return f"<h2>{html.escape(title)}</h2>\n<pre>{html.escape(text)}</pre>"


def run_sections(folder: Path) -> list[str]:
    """metrics.json of `actrec train`: headline per split, per-class table, worst confusions."""
    from actrec.evaluation.report import worst_confusions

    sections = []
    metrics = json.loads((folder / "metrics.json").read_text())
    rows = [
        {"split": split} | values for split, values in metrics.items() if isinstance(values, dict) and "top1" in values
    ]
    if rows:
        sections.append("<h2>Metrics</h2>\n" + table_html(pd.DataFrame(rows)))
    segments = metrics.get("segments") or {}
    rows = [
        {"split": split} | {key: value for key, value in segments[split].items()}
        for split in ("val", "test")
        if split in segments
    ]
    if rows:
        sections.append(
            f"<h2>Streamed segments (F1 at IoU >= {segments['min_iou']:g}, decision rules fitted on the validation recordings)</h2>\n"
            + table_html(pd.DataFrame(rows))
        )
    if (folder / "per_class.csv").is_file():
        sections.append("<h2>Per class (test)</h2>\n" + table_html(pd.read_csv(folder / "per_class.csv"), 3))
    if (folder / "confusion.csv").is_file():
        confusion = pd.read_csv(folder / "confusion.csv", index_col=0)
        mistakes = worst_confusions(confusion.to_numpy().tolist(), [str(c) for c in confusion.columns], top=10)
        if mistakes:
            frame = pd.DataFrame(mistakes, columns=["true", "predicted", "count"])
            sections.append("<h2>Worst confusions (test)</h2>\n" + table_html(frame))
    return sections


def compare_sections(folder: Path) -> list[str]:
    from actrec.evaluation.tables import display_table

    record = json.loads((folder / "compare.json").read_text())
    summary = pd.DataFrame(record["summary"])
    text = f"<p>Data: {html.escape(str(record['data']))}; split: {html.escape(json.dumps(record['split']))}</p>"
    return [
        "<h2>Comparison (mean ± std)</h2>\n" + text + table_html(display_table(summary, record.get("n_classes"))),
        pre_html("Configurations", as_yaml(record["configs"])),
    ]


def sweep_sections(folder: Path) -> list[str]:
    record = json.loads((folder / "sweep.json").read_text())
    front = pd.DataFrame(record["front"])
    columns = [c for c in ("trial", "top1", "macro_f1", "latency_us", "param_count", "params") if c in front]
    text = (
        f"<p>Study {html.escape(record['study'])}: {record['trials']} trials ({record['complete']} complete, "
        f"{record['pruned']} pruned); objectives {html.escape(', '.join(record['objectives']))}; chosen trial "
        f"{record['chosen_trial']}.</p>"
    )
    sections = ["<h2>Pareto front</h2>\n" + text + table_html(front[columns])]
    sections.append(pre_html("Search space", as_yaml(record["space"])))
    return sections


def audit_sections(result: dict[str, Any]) -> list[str]:
    """The audit's findings, then its candidate lists, so a person can check samples one by one."""

    def sample(row: dict[str, Any]) -> str:
        span = f" [{row['span']}]" if "span" in row else ""
        return f"{row['id']}" + (f" ({row['group']})" if row.get("group") else "") + span

    findings = result.get("findings") or []
    items = (
        "\n".join(f'<div class="finding">{html.escape(text)}</div>' for text in findings)
        or '<div class="ok">no problems found</div>'
    )
    sections = [f"<h2>Data audit: findings</h2>\n{items}"]
    classes = result["classes"]
    counts = pd.DataFrame({"class": list(classes["counts"]), "samples": list(classes["counts"].values())})
    if "test_counts" in classes:
        counts["test samples"] = [classes["test_counts"].get(name, 0) for name in classes["counts"]]
    sections.append(f"<h2>Class counts (imbalance ratio {classes['imbalance_ratio']:.2f})</h2>\n" + table_html(counts))
    issues = result.get("label_issues") or {}
    if issues.get("candidates"):
        frame = pd.DataFrame(
            [
                {
                    "sample": sample(r),
                    "given": r["label"],
                    "p(given)": r["given_label_probability"],
                    "suggested": r["suggested_label"],
                    "p(suggested)": r["suggested_label_probability"],
                }
                for r in issues["candidates"]
            ]
        )
        sections.append(f"<h2>Label-noise candidates ({issues['count']})</h2>\n" + table_html(frame, 3))
    dup = result.get("duplicates") or {}
    pairs = [
        {
            "kind": kind,
            "sample": sample(r["b"]),
            "duplicate of": sample(r["a"]),
            "RMS distance": r.get("rms_distance", 0.0),
        }
        for kind in ("exact", "near")
        for r in dup.get(kind, [])
    ]
    if pairs:
        sections.append(f"<h2>Duplicates ({html.escape(dup['scope'])})</h2>\n" + table_html(pd.DataFrame(pairs)))
    leakage = result.get("leakage") or {}
    if leakage.get("shared"):
        sections.append("<h2>Groups in both train and test</h2>\n" + table_html(pd.DataFrame(leakage["shared"])))
    return sections


def find_audit(folder: Path, audit_dir: str | Path | None) -> Path | None:
    candidates = (
        [Path(audit_dir) / "audit.json"] if audit_dir else [folder / "audit.json", folder / "audit" / "audit.json"]
    )
    if audit_dir and not candidates[0].is_file():
        raise ConfigError(f"{audit_dir}: no audit.json; run 'actrec audit --out {audit_dir}' first")
    return next((path for path in candidates if path.is_file()), None)


def config_section(folder: Path) -> str | None:
    """The configuration that produced the folder, verbatim."""
    for name in ("config.json", "best_config.yaml", "config.yaml"):
        path = folder / name
        if path.is_file():
            return pre_html(f"Configuration ({name})", path.read_text())
    return None


def render_html(folder: str | Path, audit_dir: str | Path | None = None) -> str:
    """The page for `folder`: sections for whatever it holds (RUN, compare, sweep, audit)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"{folder}: no such folder; give a RUN, compare, sweep or audit folder")
    sections: list[str] = []
    kinds = []
    for marker, kind, builder in (
        ("metrics.json", "run", run_sections),
        ("compare.json", "comparison", compare_sections),
        ("sweep.json", "sweep", sweep_sections),
    ):
        if (folder / marker).is_file():
            sections += builder(folder)
            kinds.append(kind)
    named = [name for name in IMAGE_TITLES if (folder / name).is_file()]
    sections += [image_html(folder / name, IMAGE_TITLES[name]) for name in named]
    sections += [image_html(path, path.stem) for path in sorted(folder.glob("*.png")) if path.name not in IMAGE_TITLES]
    audit_path = find_audit(folder, audit_dir)
    if audit_path is not None:
        sections += audit_sections(json.loads(audit_path.read_text()))
        kinds.append("audit")
    if not kinds:
        raise ConfigError(
            f"{folder}: holds no metrics.json, compare.json, sweep.json or audit.json; give a RUN, compare, sweep or audit folder"
        )
    config = config_section(folder)
    if config:
        sections.append(config)
    title = f"actrec {' + '.join(kinds)} report: {folder.resolve().name}"
    body = "\n".join(sections)
    return f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>\n<style>{STYLE}</style></head>\n<body>\n<h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n'


def write_html_report(folder: str | Path, out: str | Path | None = None, audit_dir: str | Path | None = None) -> Path:
    """Write the page to `out` (default FOLDER/report.html) atomically; return its path."""
    path = Path(out) if out else Path(folder) / "report.html"
    write_text_atomic(path, render_html(folder, audit_dir))
    return path
