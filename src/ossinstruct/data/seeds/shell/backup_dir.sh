#!/usr/bin/env bash
# Copy a folder into a dated archive and keep the last N archives.
set -euo pipefail

# Print a message with the current time.
log() {
  printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2
}

# Remove all but the newest $2 archives in folder $1.
prune_archives() {
  local folder=$1 keep=$2
  ls -1t "$folder"/*.tar.gz 2>/dev/null | tail -n +"$((keep + 1))" | while read -r old; do
    log "removing $old"
    rm -f -- "$old"
  done
}

source_dir=${1:?usage: backup_dir.sh SOURCE DEST [KEEP]}
dest_dir=${2:?usage: backup_dir.sh SOURCE DEST [KEEP]}
keep=${3:-7}
mkdir -p "$dest_dir"
archive="$dest_dir/$(basename "$source_dir")-$(date +%Y%m%d-%H%M%S).tar.gz"
log "writing $archive"
tar -czf "$archive" -C "$(dirname "$source_dir")" "$(basename "$source_dir")"
prune_archives "$dest_dir" "$keep"
