#!/usr/bin/env bash
# One-command setup of mer4d: system libraries, torch (only when none is installed, so a CUDA
# build you already have is kept), then mer4d in editable mode with its dev extra.
# Idempotent: a second run finds everything in place and returns in seconds.
#
# Python: the active virtual environment if there is one; else `python3` when pip may install
# into it; else (Debian's "externally managed" system Python) a new ./.venv.
# Environment: PYTHON=/path/to/python to choose the interpreter; MER4D_EXTRAS=dev,face to add extras
# (MER4D_EXTRAS=dev,server also installs PostgreSQL from the system packages, for `mer4d server`).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
say() { printf '[setup] %s\n' "$*"; }

py="${PYTHON:-python3}"
command -v "$py" >/dev/null || { echo "[setup] error: '$py' not found; install Python 3.10+ or set PYTHON=/path/to/python" >&2; exit 1; }
"$py" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || { echo "[setup] error: mer4d needs Python 3.10+, '$py' is $("$py" -V 2>&1)" >&2; exit 1; }
managed=$("$py" -c 'import os, sys, sysconfig; print(int(sys.prefix == sys.base_prefix and os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED"))))')
if [ "$managed" = 1 ]; then
  [ -x .venv/bin/python ] || { say "system Python is externally managed: creating ./.venv"; "$py" -m venv .venv; }
  py="$repo/.venv/bin/python"
  say "installing into ./.venv -- run 'source .venv/bin/activate' afterwards"
fi

# System libraries: open3d loads libusb-1.0 at import time. (ldconfig lives in sbin, which a
# non-login PATH may lack.)
export PATH="$PATH:/usr/sbin:/sbin"
missing=()
ldconfig -p 2>/dev/null | grep -q 'libusb-1.0.so.0' || missing+=(libusb-1.0-0)
ldconfig -p 2>/dev/null | grep -q 'libgomp.so.1' || missing+=(libgomp1)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  say "installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# chromium: the browser test (tests/cli/test_ui.py, marker browser) and tools/ui_screenshot.py
# render the MLflow UI in it; without it that test is skipped, so a failure here only warns.
if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null && ! command -v google-chrome >/dev/null; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  say "installing chromium (for the browser test of the MLflow UI)"
  { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null; } 2>/dev/null \
    || say "warning: could not install chromium; the browser test will be skipped (apt-get install chromium to run it)"
fi

extras="${MER4D_EXTRAS:-dev}"
# PostgreSQL for `mer4d server` (the server extra): initdb and pg_ctl, found where Debian keeps them
# (/usr/lib/postgresql/*/bin) or on the PATH. The package's own cluster is not used: mer4d server makes its own.
if [[ ",$extras," == *",server,"* ]] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  say "installing postgresql (for mer4d server)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
fi

# torch: keep whatever build is there (e.g. CUDA); otherwise the pinned CPU wheel.
torch_version=$("$py" -c 'from importlib import metadata; print(metadata.version("torch"))' 2>/dev/null || true)
if [ -n "$torch_version" ]; then
  say "torch $torch_version already installed: kept"
else
  say "installing torch==2.13.0"
  "$py" -m pip install --quiet torch==2.13.0
fi

stamp="$("$py" -c 'import sys; print(sys.prefix)')/.mer4d-setup-$(cat pyproject.toml | sha256sum | cut -c1-16)-${extras//,/_}"
where=$("$py" -c 'import mer4d, os; print(os.path.dirname(os.path.dirname(os.path.abspath(mer4d.__file__))))' 2>/dev/null || true)
if [ -f "$stamp" ] && [ "$where" = "$repo" ]; then
  say "mer4d[$extras] already installed from $repo: nothing to do"
else
  say "installing mer4d[$extras] (editable) from $repo"
  "$py" -m pip install --quiet -e ".[$extras]"
  "$py" -c 'import open3d, torch, mlflow, mer4d' || { echo "[setup] error: the installed packages do not import; see the messages above" >&2; exit 1; }
  rm -f "$("$py" -c 'import sys; print(sys.prefix)')"/.mer4d-setup-* && touch "$stamp"
fi
say "ready: mer4d in $("$py" -c 'import sys; print(sys.prefix)') ($("$py" -V)); try: mer4d run recipes/4dme_ccdn.yaml (or recipes/toy_smoke.yaml, 20 s)"
