#!/usr/bin/env bash
# Rename every file in the given folders to lower case, refusing to overwrite.
set -u

# Echo the lower-case form of $1.
lower() {
  printf '%s' "$1" | tr '[:upper:]' '[:lower:]'
}

status=0
for folder in "$@"; do
  for path in "$folder"/*; do
    [ -f "$path" ] || continue
    name=$(basename "$path")
    new=$(lower "$name")
    [ "$name" = "$new" ] && continue
    if [ -e "$folder/$new" ]; then
      echo "skip $path: $new exists" >&2
      status=1
      continue
    fi
    mv -- "$path" "$folder/$new"
  done
done
exit $status
