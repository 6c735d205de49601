"""Export to other runtimes: `export_onnx(recognizer, path)`."""

from actrec.export.onnx import ExportResult, export_onnx

__all__ = ["ExportResult", "export_onnx"]
