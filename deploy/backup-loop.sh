#!/bin/bash
# Scheduled backups for the compose `backup` service: `mailstead backup` every
# BACKUP_INTERVAL seconds into /var/backups/mailstead/<UTC time>, keeping the newest
# BACKUP_KEEP. Copy that directory off the host for safety (docs/operations.md).
set -eu
interval=${BACKUP_INTERVAL:-86400}
keep=${BACKUP_KEEP:-7}
root=/var/backups/mailstead
while true; do
  dir="$root/$(date -u +%Y%m%dT%H%M%SZ)"
  if mailstead --config "${MAILSTEAD_CONFIG:-/etc/mailstead/mailstead.toml}" backup "$dir"; then
    ls -1d "$root"/*/ 2>/dev/null | sort | head -n -"$keep" | xargs -r rm -rf
  else
    echo "backup-loop: the backup into $dir failed" >&2
    rm -rf "$dir"
  fi
  sleep "$interval" & wait $!
done
