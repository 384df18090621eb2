#!/bin/sh
# Print the top-level keys of each JSON object in a JSON Lines file, one line per object.
set -e

# Print the keys of the JSON object on standard input, comma-separated.
keys_of() {
  python3 -c 'import json, sys; print(",".join(json.load(sys.stdin)))'
}

file=${1:?usage: json_keys.sh FILE.jsonl}
line_number=0
while IFS= read -r line; do
  line_number=$((line_number + 1))
  [ -z "$line" ] && continue
  printf '%d: ' "$line_number"
  printf '%s' "$line" | keys_of
done < "$file"
