#!/usr/bin/env bash
# Back up the trading-ai database (daily from cron or a systemd timer).
#
#   DATABASE_URL=... infra/scripts/backup_db.sh
#
# SQLite: the online-backup API (consistent while the runtime writes; WAL mode).
# PostgreSQL: pg_dump --format=custom of the schema the URL works in.
# Both go through `trading-ai db backup`, so the URL is read exactly as the app reads it
# (environment, .env, --config). Settings (environment):
#   BACKUP_DIR          where backups go (default <repo>/var/backups)
#   BACKUP_KEEP_DAYS    delete local backups older than this many days (default 14; 0 keeps all)
#   BACKUP_S3_URI       optional, e.g. s3://bucket/trading-ai/ : upload with the aws CLI when set
#   TRADING_AI          the CLI to run (default <repo>/.venv/bin/trading-ai)
# Exit code non-zero on any failure, so the timer/cron reports it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BACKUP_DIR="${BACKUP_DIR:-$ROOT/var/backups}"
BACKUP_KEEP_DAYS="${BACKUP_KEEP_DAYS:-14}"
TRADING_AI="${TRADING_AI:-$ROOT/.venv/bin/trading-ai}"

if [[ ! -x "$TRADING_AI" ]]; then
  echo "backup_db.sh: $TRADING_AI not found; run 'make venv' or set TRADING_AI" >&2
  exit 2
fi
if ! [[ "$BACKUP_KEEP_DAYS" =~ ^[0-9]+$ ]]; then
  echo "backup_db.sh: BACKUP_KEEP_DAYS must be a whole number of days, got '$BACKUP_KEEP_DAYS'" >&2
  exit 2
fi

mkdir -p "$BACKUP_DIR"
file="$("$TRADING_AI" db backup --out "$BACKUP_DIR" | tail -n 1)"
if [[ ! -s "$file" ]]; then
  echo "backup_db.sh: backup file '$file' missing or empty" >&2
  exit 1
fi
echo "backup: $file ($(wc -c <"$file") bytes)"

if [[ -n "${BACKUP_S3_URI:-}" ]]; then
  if ! command -v aws >/dev/null 2>&1; then
    echo "backup_db.sh: BACKUP_S3_URI is set but the aws CLI is not installed" >&2
    exit 1
  fi
  aws s3 cp --only-show-errors "$file" "${BACKUP_S3_URI%/}/$(basename "$file")"
  echo "uploaded: ${BACKUP_S3_URI%/}/$(basename "$file")"
fi

if [[ "$BACKUP_KEEP_DAYS" -gt 0 ]]; then
  find "$BACKUP_DIR" -maxdepth 1 -type f \( -name 'trading_ai-*.sqlite3' -o -name 'trading_ai-*.pgdump' \) \
    -mtime +"$BACKUP_KEEP_DAYS" -print -delete | sed 's/^/pruned: /'
fi
