"""The audit as a person reads it: one sentence per finding (`findings`), `audit.md` with the
tables behind them, and `audit.json` with everything."""

from __future__ import annotations

import json
from pathlib import Path

from actrec.experiments.audit.data_checks import MAX_LISTED
from actrec.experiments.audit.result import AuditResult, Sample
from actrec.io.atomic import write_text_atomic


def findings(result: AuditResult) -> list[str]:
    """One sentence per problem found, leaks first (they inflate accuracy), then label noise."""
    out = []
    leakage = result["leakage"]
    if leakage and leakage["shared_count"]:
        names = ", ".join(row["group"] for row in leakage["shared"][:5])
        out.append(
            f"group leakage: {leakage['shared_count']} group(s) are in both train and test ({names}); split by group"
        )
    dup = result["duplicates"]
    if dup["exact_count"]:
        out.append(f"{dup['exact_count']} exact duplicate sample(s) {dup['scope']}; drop the copies")
    if dup["near_count"]:
        out.append(
            f"{dup['near_count']} near-duplicate sample(s) {dup['scope']} (RMS < {dup['near_rms_threshold']} std); check for overlapping windows"
        )
    conflicting = sum(row.get("labels_differ", False) for row in dup["exact"])
    if conflicting:
        out.append(f"{conflicting} duplicate pair(s) carry different labels")
    issues = result["label_issues"]
    if issues and issues["count"]:
        out.append(
            f"{issues['count']} label-noise candidate(s) of {result['summary']['samples']} samples "
            f"(confident learning on {issues['folds']}-fold out-of-fold probabilities, {issues['model']} model); review them"
        )
    out += [f"out-of-fold probabilities: {note}" for note in (issues or {}).get("fold_notes", [])]
    missing = result["missing"]
    if missing["empty_count"]:
        out.append(f"{missing['empty_count']} sample(s) hold no finite value (nothing detected); drop them")
    if missing["mostly_missing_count"] > missing["empty_count"]:
        out.append(f"{missing['mostly_missing_count'] - missing['empty_count']} more sample(s) are over half NaN")
    classes = result["classes"]
    if classes["imbalance_ratio"] >= 3:
        out.append(
            f"class imbalance: the largest class has {classes['imbalance_ratio']:.1f}x the samples of the smallest"
        )
    if classes["empty_classes"]:
        out.append(f"classes with no samples: {', '.join(classes['empty_classes'])}")
    if classes.get("test_only_classes"):
        out.append(f"classes only in test: {', '.join(classes['test_only_classes'])}")
    constant = [row["channel"] for row in result["channels"] if row["constant"]]
    if constant:
        out.append(f"{len(constant)} constant channel(s): {', '.join(constant[:8])}")
    nan = [row for row in result["channels"] if row["nan_fraction"] > 0 and not row["constant"]]
    if nan:
        worst = max(row["nan_fraction"] for row in nan)
        out.append(
            f"{len(nan)} channel(s) hold NaN (up to {worst:.0%} of values): {', '.join(row['channel'] for row in nan[:8])}"
        )
    lengths = result["lengths"]
    if lengths["max"] > 2 * max(lengths["min"], 1):
        out.append(f"lengths vary from {lengths['min']} to {lengths['max']} steps (median {lengths['median']:g})")
    return out


def _sample_cell(row: Sample) -> str:
    span = f" [{row['span']}]" if "span" in row else ""
    group = f" group {row['group']}" if row.get("group") is not None else ""
    return f"{row['id']}{group}{span}"


def audit_markdown(result: AuditResult) -> str:
    """A human-readable `audit.md`: findings first, then the tables behind them."""
    lines = ["# Data audit", "", f"Data: `{result['summary']['source']}`"]
    if result["summary"]["test_source"]:
        lines.append(f"Test: `{result['summary']['test_source']}`")
    lines += ["", "## Findings", ""]
    lines += [f"- {text}" for text in result["findings"]] or ["- nothing found"]
    lines += ["", "## Classes", "", "| class | samples | test samples |", "|---|---:|---:|"]
    test_counts = result["classes"].get("test_counts", {})
    for name, count in result["classes"]["counts"].items():
        lines.append(f"| {name} | {count} | {test_counts.get(name, '')} |")
    lines += ["", f"Imbalance ratio: {result['classes']['imbalance_ratio']:.2f}", ""]
    lengths = result["lengths"]
    lines += [
        "## Lengths",
        "",
        f"min {lengths['min']}, p5 {lengths['p5']:g}, median {lengths['median']:g}, p95 {lengths['p95']:g}, "
        f"max {lengths['max']} steps; {lengths['padded_samples']} padded sample(s)",
        "",
    ]
    if result["channels"]:
        lines += [
            "## Channels with NaN or constant values",
            "",
            "| channel | NaN fraction | all-NaN samples | constant |",
            "|---|---:|---:|---|",
        ]
        lines += [
            f"| {r['channel']} | {r['nan_fraction']:.3f} | {r['all_nan_samples']} | {r['constant']} |"
            for r in result["channels"][:MAX_LISTED]
        ]
        lines.append("")
    missing = result["missing"]
    if missing["empty"]:
        lines += ["## Samples with no finite value", ""] + [f"- {_sample_cell(row)}" for row in missing["empty"]] + [""]
    dup = result["duplicates"]
    lines += [f"## Duplicates ({dup['scope']})", "", f"{dup['exact_count']} exact, {dup['near_count']} near", ""]
    if dup["exact"] or dup["near"]:
        lines += ["| kind | sample | duplicate of | RMS distance | labels differ |", "|---|---|---|---:|---|"]
        for kind in ("exact", "near"):
            for row in dup[kind]:
                distance = f"{row['rms_distance']:.4f}" if "rms_distance" in row else "0"
                lines.append(
                    f"| {kind} | {_sample_cell(row['b'])} | {_sample_cell(row['a'])} | {distance} | {row.get('labels_differ', '')} |"
                )
        lines.append("")
    if result["leakage"] is not None:
        leak = result["leakage"]
        lines += [
            "## Group leakage",
            "",
            f"{leak['shared_count']} of {leak['test_groups']} test group(s) also in train",
            "",
        ]
        if leak["shared"]:
            lines += ["| group | train samples | test samples |", "|---|---:|---:|"]
            lines += [f"| {r['group']} | {r['train_samples']} | {r['test_samples']} |" for r in leak["shared"]]
            lines.append("")
    issues = result["label_issues"]
    lines += [
        "## Label-noise candidates",
        "",
        f"{issues['count']} candidate(s); {issues['model']} model, {issues['folds']} folds, "
        f"out-of-fold accuracy {issues['out_of_fold_accuracy']:.3f}",
        "",
    ]
    if issues["candidates"]:
        lines += ["| sample | given label | p(given) | suggested | p(suggested) |", "|---|---|---:|---|---:|"]
        for candidate in issues["candidates"]:
            lines.append(
                f"| {_sample_cell(candidate)} | {candidate['label']} | {candidate['given_label_probability']:.3f} | "
                f"{candidate['suggested_label']} | {candidate['suggested_label_probability']:.3f} |"
            )
        lines.append("")
    return "\n".join(lines) + "\n"


def write_audit(result: AuditResult, out_dir: str | Path) -> tuple[Path, Path]:
    """Write `audit.json` and `audit.md` into `out_dir` (atomically); return both paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / "audit.json", out / "audit.md"
    write_text_atomic(json_path, json.dumps(result, indent=2, default=str) + "\n")
    write_text_atomic(md_path, audit_markdown(result))
    return json_path, md_path
