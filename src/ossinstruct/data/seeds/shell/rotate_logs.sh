#!/usr/bin/env bash
# Rotate a log file: app.log -> app.log.1 -> app.log.2 ..., compressing old copies.
set -euo pipefail

log_file=${1:?usage: rotate_logs.sh LOGFILE [COUNT]}
count=${2:-5}

# Move $1.N to $1.(N+1) for N from count-1 down to 1.
shift_copies() {
  local base=$1 n
  for ((n = count - 1; n >= 1; n--)); do
    if [ -f "$base.$n.gz" ]; then
      mv -f "$base.$n.gz" "$base.$((n + 1)).gz"
    fi
  done
}

[ -f "$log_file" ] || exit 0
shift_copies "$log_file"
cp "$log_file" "$log_file.1"
gzip -f "$log_file.1"
: > "$log_file"
rm -f "$log_file.$((count + 1)).gz"
