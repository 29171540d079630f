#!/usr/bin/env bash
# Builds the peer's own virtualenv (LLaMA-Factory) at benchmarks/train/.venv-peer; nothing from it goes into git.
# torch is pinned to the CPU wheel on local disk (the same torch medgo uses); an unpinned torch would pull CUDA builds.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv-peer"
LF_VERSION="${LF_VERSION:-0.9.5}"
python3 -m venv "$venv"
"$venv/bin/pip" install -q "torch==2.13.0"
pin="$(mktemp)"
echo "torch==2.13.0" > "$pin"
"$venv/bin/pip" install -q "llamafactory==$LF_VERSION" -c "$pin"
rm -f "$pin"
# PyPI's torchaudio/torchvision wheels that resolve against torch 2.13.0+cpu are CUDA builds (torchaudio 2.11.0 needs
# libc10_cuda.so; torchvision 0.28.0 fails with "operator torchvision::nms does not exist"). Text SFT needs neither,
# but llamafactory/data/mm_plugin.py does `import torchaudio` at module level (only audio inputs call it), so the
# broken wheels are removed and a stub that raises on use stands in for torchaudio.
"$venv/bin/pip" uninstall -q -y torchaudio torchvision
site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
mkdir -p "$site/torchaudio"
cat > "$site/torchaudio/__init__.py" <<'PY'
"""Stub written by medgo's benchmarks/train/setup_peer.sh: PyPI's torchaudio for torch 2.13 is a CUDA build that
cannot load on this CPU-only machine. Text-only SFT never calls it; any audio use fails loudly."""
from types import SimpleNamespace

__version__ = "0.0.0+stub"


def _unavailable(*args, **kwargs):
    raise RuntimeError("torchaudio is a stub in this benchmark venv (no CPU wheel for torch 2.13 on PyPI)")


load = _unavailable
functional = SimpleNamespace(resample=_unavailable)
PY
"$venv/bin/llamafactory-cli" version
"$venv/bin/python" -c "import torch, transformers, trl, llamafactory; print('peer:', 'llamafactory', llamafactory.__version__, \
'torch', torch.__version__, 'transformers', transformers.__version__, 'trl', trl.__version__)"
