#!/usr/bin/env bash
# Warn when any mounted file system is fuller than a threshold (percent).

threshold=${1:-90}

# Print "<use%> <mount>" for every mounted file system.
usage_by_mount() {
  df -P | awk 'NR > 1 { sub("%", "", $5); print $5, $6 }'
}

alerts=0
while read -r used mount; do
  if [ "$used" -ge "$threshold" ]; then
    echo "warning: $mount is ${used}% full"
    alerts=$((alerts + 1))
  fi
done < <(usage_by_mount)
[ "$alerts" -eq 0 ] && echo "all file systems below ${threshold}%"
exit 0
