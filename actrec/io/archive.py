"""What reading a damaged `.npy` / `.npz` can raise: numpy, zipfile, zlib and the header parser
each have their own errors (a flipped flag bit alone gives NotImplementedError or RuntimeError
"encrypted"; a damaged .npy header a SyntaxError or TokenError). The readers catch these and name
the file in one line."""

from __future__ import annotations

import tokenize
import zipfile
import zlib

ARRAY_FILE_ERRORS = (
    OSError,
    ValueError,
    EOFError,
    SyntaxError,
    tokenize.TokenError,
    zipfile.BadZipFile,
    zlib.error,
    NotImplementedError,
    RuntimeError,
)
