#!/usr/bin/env bash
# Tag a release: check the tree is clean, bump the version file and tag.
set -euo pipefail

version_file=${VERSION_FILE:-VERSION}

# Fail unless the working tree has no uncommitted changes.
require_clean_tree() {
  if [ -n "$(git status --porcelain)" ]; then
    echo "the working tree has uncommitted changes" >&2
    exit 1
  fi
}

# Print version $1 with its last number increased by one.
bump_patch() {
  local major minor patch
  IFS=. read -r major minor patch <<< "$1"
  echo "$major.$minor.$((patch + 1))"
}

require_clean_tree
current=$(cat "$version_file")
next=${1:-$(bump_patch "$current")}
echo "$next" > "$version_file"
git commit -m "Release $next" -- "$version_file"
git tag -a "v$next" -m "Release $next"
echo "tagged v$next (was $current)"
