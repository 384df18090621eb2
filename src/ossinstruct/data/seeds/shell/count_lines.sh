#!/bin/sh
# Count the lines of code per file extension under a folder.

# Print "<extension> <lines>" for every regular file below $1.
lines_by_extension() {
  find "$1" -type f -name '*.*' | while read -r file; do
    ext=${file##*.}
    n=$(wc -l < "$file")
    echo "$ext $n"
  done
}

root=${1:-.}
lines_by_extension "$root" | awk '{ total[$1] += $2 } END { for (e in total) print total[e], e }' | sort -rn
