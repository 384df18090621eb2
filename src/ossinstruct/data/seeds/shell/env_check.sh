#!/bin/sh
# Check that the programs and variables a build needs are present.

missing=0

# Report whether program $1 is on the PATH.
need_program() {
  if command -v "$1" >/dev/null 2>&1; then
    echo "ok: $1"
  else
    echo "missing program: $1" >&2
    missing=$((missing + 1))
  fi
}

# Report whether environment variable $1 is set and not empty.
need_variable() {
  eval "value=\${$1:-}"
  if [ -n "$value" ]; then
    echo "ok: \$$1"
  else
    echo "missing variable: \$$1" >&2
    missing=$((missing + 1))
  fi
}

for program in cc make tar; do
  need_program "$program"
done
need_variable HOME
need_variable PATH
exit "$missing"
