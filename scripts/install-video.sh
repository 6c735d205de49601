#!/usr/bin/env bash
# Optional video support for actrec (`actrec extract`), and the sample video its tests use.
#
#   scripts/install-video.sh            # into the python on PATH (activate the venv first)
#   PYTHON=/path/to/python scripts/install-video.sh
#
# Safe to run again: pip skips what is installed, apt-get runs only while the video is missing.
#
# Why not `pip install mediapipe`: releases after 0.10.21 download their models at run time
# (impossible offline), and 0.10.x declares numpy<2 and protobuf<5, which would downgrade numpy
# and break onnx (>=1.19 needs protobuf>=6). 0.10.21 runs with numpy 2 and protobuf 6, so it is
# installed --no-deps with only the packages it imports. protobuf 7 removed an API it uses.
set -euo pipefail

PYTHON="${PYTHON:-$(command -v python || command -v python3)}"
VTEST=/usr/share/doc/opencv-doc/examples/data/vtest.avi

# --- Python packages -----------------------------------------------------------------------------
# LiteRT runs MediaPipe's BlazePose detector and landmark model for `actrec extract --people`
"$PYTHON" -m pip install opencv-python-headless 'protobuf>=6.31.1,<7' attrs matplotlib 'ai-edge-litert>=2.0,<3'
if [ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] \
  && "$PYTHON" -c 'import sys; sys.exit(not (3, 9) <= sys.version_info[:2] <= (3, 12))'; then
  "$PYTHON" -m pip install --no-deps 'mediapipe==0.10.21'
else
  echo "install-video.sh: mediapipe 0.10.21 has Linux wheels for x86_64 and Python 3.9-3.12 only;" \
    "skipping it here, so actrec extract and its tests will not run" >&2
fi

# --- Sample video: Debian's opencv-doc ships OpenCV's vtest.avi (people walking) ----------------
# Only that 8 MB file is unpacked from the package: installing it would add 270 MB of docs plus
# MathJax, and slim Debian images exclude /usr/share/doc from installs anyway.
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
if [ ! -f "$VTEST" ] && command -v apt-get >/dev/null && { [ -z "$SUDO" ] || command -v sudo >/dev/null; }; then
  $SUDO apt-get update
  workdir="$(mktemp -d)"
  chmod 777 "$workdir"  # apt's _apt user writes the download there
  (cd "$workdir" && $SUDO apt-get download opencv-doc)
  dpkg-deb --fsys-tarfile "$workdir"/opencv-doc_*.deb \
    | $SUDO tar -x -C / ".$VTEST"
  rm -rf "$workdir"
fi
if [ -f "$VTEST" ]; then
  echo "install-video.sh: sample video at $VTEST"
else
  echo "install-video.sh: $VTEST is absent (needs apt-get as root or with sudo); the tests that need it will skip" >&2
fi
