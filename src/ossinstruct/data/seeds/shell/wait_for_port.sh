#!/usr/bin/env bash
# Wait until a TCP port on a host accepts connections, or time out.

# Succeed when host $1 accepts a connection on port $2.
port_open() {
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

host=${1:?usage: wait_for_port.sh HOST PORT [TIMEOUT]}
port=${2:?usage: wait_for_port.sh HOST PORT [TIMEOUT]}
timeout=${3:-30}
deadline=$((SECONDS + timeout))
while ! port_open "$host" "$port"; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "timed out waiting for $host:$port" >&2
    exit 1
  fi
  sleep 1
done
echo "$host:$port is up"
