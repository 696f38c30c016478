#!/usr/bin/env bash
# Nightly refresh of the execution-cost model (issue 5).
#
# With a broker connected it measures spreads (logged bid/ask snapshots) and slippage (fills)
# through a READ-ONLY broker login; otherwise it re-estimates from the candle store (OHLC).
# Read-only credentials come from their own variables, never the trading ones:
#   EXEC_METRICS_READONLY_LOGIN / EXEC_METRICS_READONLY_PASSWORD  (exported to the app as
#   MT5_READONLY_LOGIN / MT5_READONLY_PASSWORD, config broker.readonly_login/readonly_password)
# The trading credentials (MT5_LOGIN, MT5_PASSWORD, METAAPI_TOKEN) are removed from this
# process's environment before the app starts.
#
# Environment:
#   TRADING_AI_HOME          project checkout (default: the folder above infra/)
#   EXEC_METRICS_SOURCE      auto | ohlc | broker (default auto: broker when read-only creds are set
#                            and BROKER is a real broker, else ohlc)
#   EXEC_METRICS_ENV_FILE    dotenv file with the read-only credentials (optional)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
home="${TRADING_AI_HOME:-$(cd "$here/../.." && pwd)}"
cd "$home"

if [[ -n "${EXEC_METRICS_ENV_FILE:-}" ]]; then
  if [[ ! -r "$EXEC_METRICS_ENV_FILE" ]]; then
    echo "nightly_exec_metrics: cannot read EXEC_METRICS_ENV_FILE=$EXEC_METRICS_ENV_FILE" >&2
    exit 2
  fi
  set -a
  # shellcheck disable=SC1090
  . "$EXEC_METRICS_ENV_FILE"
  set +a
fi

# Never hand the trading credentials to the measuring job.
unset MT5_LOGIN MT5_PASSWORD METAAPI_TOKEN TRADING_AI_BROKER_MT5_LOGIN TRADING_AI_BROKER_MT5_PASSWORD \
      TRADING_AI_BROKER_METAAPI_TOKEN LIVE_CONFIRM TRADING_AI_BROKER_LIVE_CONFIRM

if [[ -n "${EXEC_METRICS_READONLY_LOGIN:-}" ]]; then
  export MT5_READONLY_LOGIN="$EXEC_METRICS_READONLY_LOGIN"
  export MT5_READONLY_PASSWORD="${EXEC_METRICS_READONLY_PASSWORD:-}"
fi

source_kind="${EXEC_METRICS_SOURCE:-auto}"
if [[ "$source_kind" == "auto" ]]; then
  # Broker measurement needs a real broker and a read-only login; the paper/mock brokers simulate
  # their costs from this very model, so they fall back to the OHLC estimate.
  kind="${TRADING_AI_BROKER_KIND:-${BROKER:-paper}}"
  if [[ -n "${MT5_READONLY_LOGIN:-}" && "$kind" != "paper" && "$kind" != "mock" ]]; then
    source_kind=broker
  else
    source_kind=ohlc
  fi
fi
case "$source_kind" in
  ohlc|broker) ;;
  *) echo "nightly_exec_metrics: EXEC_METRICS_SOURCE must be auto, ohlc or broker, got '$source_kind'" >&2; exit 2 ;;
esac

py="$home/.venv/bin/python"
[[ -x "$py" ]] || py="$(command -v python3)"

# Use a dotenv file only when one was given above; never the trading .env.
exec "$py" -m composition --env-file /dev/null exec-metrics update --source "$source_kind"
