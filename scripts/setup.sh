#!/usr/bin/env bash
# Creates .venv and installs actrec into it; with --test also what the tests and `make lint` use (video extraction,
# a browser, PostgreSQL). Re-running is cheap: a stamp remembers what was installed.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
mode=${1:-}

[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
PY="$VENV/bin/python"
stamp="$VENV/.actrec-installed$mode-$(cat pyproject.toml scripts/*.sh | sha1sum | cut -c1-12)"
[ -f "$stamp" ] && exit 0

# torch first, pinned: the CPU wheel on disk. An unpinned torch would pull a multi-GB CUDA build.
"$PY" -m pip install -q --disable-pip-version-check torch==2.13.0
if [ "$mode" = "--test" ]; then
  "$PY" -m pip install -q --disable-pip-version-check -e ".[dev]"
  # optional parts the tests exercise; each test skips with its reason if these are absent
  VIRTUAL_ENV="$PWD/$VENV" PATH="$PWD/$VENV/bin:$PATH" bash scripts/install-video.sh || echo "setup: video extras not installed; extraction tests will skip"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    missing=""
    command -v chromium >/dev/null || missing="$missing chromium"
    command -v pg_ctl >/dev/null || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing="$missing postgresql"
    if [ -n "$missing" ]; then
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null) \
        || echo "setup: could not install$missing; the tests that need them will skip"
    fi
  fi
else
  "$PY" -m pip install -q --disable-pip-version-check -e .
fi
touch "$stamp"
