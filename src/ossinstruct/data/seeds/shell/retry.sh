#!/usr/bin/env bash
# Run a command until it succeeds, waiting longer after each failure.

# Sleep for an exponentially growing number of seconds, capped at $2.
backoff() {
  local attempt=$1 cap=$2
  local wait=$((2 ** attempt))
  if [ "$wait" -gt "$cap" ]; then
    wait=$cap
  fi
  sleep "$wait"
}

max_attempts=${MAX_ATTEMPTS:-5}
cap=${MAX_WAIT:-30}
attempt=0
until "$@"; do
  attempt=$((attempt + 1))
  if [ "$attempt" -ge "$max_attempts" ]; then
    echo "giving up after $attempt attempts: $*" >&2
    exit 1
  fi
  echo "attempt $attempt failed, retrying" >&2
  backoff "$attempt" "$cap"
done
