#!/bin/sh
# Print one column of a CSV file by its header name.

# Print the 1-based index of column $2 in the header line of file $1, or nothing.
column_index() {
  head -n 1 "$1" | tr ',' '\n' | grep -n -x "$2" | cut -d: -f1
}

file=${1:?usage: csv_column.sh FILE COLUMN}
name=${2:?usage: csv_column.sh FILE COLUMN}
index=$(column_index "$file" "$name")
if [ -z "$index" ]; then
  echo "no column $name in $file" >&2
  exit 1
fi
tail -n +2 "$file" | cut -d, -f"$index"
