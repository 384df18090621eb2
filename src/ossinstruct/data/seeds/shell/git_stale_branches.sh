#!/usr/bin/env bash
# List local git branches whose last commit is older than N days.
set -euo pipefail

days=${1:-30}
now=$(date +%s)

# Print the age in days of the last commit on branch $1.
branch_age_days() {
  local stamp
  stamp=$(git log -1 --format=%ct "$1")
  echo $(((now - stamp) / 86400))
}

git for-each-ref --format='%(refname:short)' refs/heads | while read -r branch; do
  age=$(branch_age_days "$branch")
  if [ "$age" -gt "$days" ]; then
    printf '%-40s %5d days\n' "$branch" "$age"
  fi
done
