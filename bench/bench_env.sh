#!/usr/bin/env bash
# Prepares a fresh jitgate for the shared comparison rig (../shared/bench/run.sh) and prints the
# JITGATE_BENCH_* exports it wants, so the rig starts (and, pinned, pins) the product itself.
#
#   eval "$(bench/bench_env.sh)"                          # embedded mode, SQLite, one process
#   eval "$(bench/bench_env.sh --redis redis://127.0.0.1:6379/4 --workers 2)"   # Redis mode
#   cd /work/shared/bench && BENCH_ONLY=product ./run.sh
#
# What it does: a new data directory (mktemp) with a SQLite database (or --database URL), an org
# `bench`, an Ed25519 agent key (jitgate keys generate) and an agent holding document.read, all
# with the jitgate CLI of this checkout's .venv. The serve command it prints sets:
#   - JITGATE_PUBLIC_URL to the bench URL (the assertions' audience is the token endpoint there);
#   - rate limits on (their cost is measured) but too high ever to refuse at wrk's rates;
#   - JITGATE_ACCESS_LOG=false: the rig runs every peer with uvicorn's --no-access-log, so like
#     for like (--access-log keeps jitgate's per-request line on).
# Options: --port N (8412), --workers N (1), --redis URL (Redis mode), --database URL,
#          --access-log, --uncached (JITGATE_VERIFIED_TOKEN_CACHE=0: every check verifies its
#          token in full, like the floor row fastapi-jwt-verify; the issue's "uncached check").
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jitgate="$repo/.venv/bin/jitgate"
port=8412 workers=1 redis="" database="" access_log=false uncached=false
while (($#)); do
  case "$1" in
    --port) port="$2"; shift 2 ;;
    --workers) workers="$2"; shift 2 ;;
    --redis) redis="$2"; shift 2 ;;
    --database) database="$2"; shift 2 ;;
    --access-log) access_log=true; shift ;;
    --uncached) uncached=true; shift ;;
    *) echo "bench_env.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[[ -x "$jitgate" ]] || { echo "bench_env.sh: no $jitgate (make the .venv first)" >&2; exit 1; }
if ((workers > 1)) && [[ -z "$redis" ]]; then
  echo "bench_env.sh: --workers needs --redis (embedded state lives in one process)" >&2
  exit 2
fi

data="$(mktemp -d -t jitgate-bench-data.XXXXXX)"
url="http://127.0.0.1:$port"
settings=(
  "JITGATE_DATABASE_URL=${database:-sqlite:///$data/jitgate.db}"
  "JITGATE_PUBLIC_URL=$url"
  "JITGATE_SECRET_KEY=bench-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
  "JITGATE_AGENT_REQUESTS_PER_MINUTE=1000000000"
  "JITGATE_ADDRESS_REQUESTS_PER_MINUTE=1000000000"
  "JITGATE_ACCESS_LOG=$access_log"
)
[[ -n "$redis" ]] && settings+=("JITGATE_REDIS_URL=$redis")
[[ "$uncached" == true ]] && settings+=("JITGATE_VERIFIED_TOKEN_CACHE=0")
printf '%s\n' "${settings[@]}" >"$data/settings.env"

cli() { (cd "$data" && env "${settings[@]}" "$jitgate" "$@"); }
org="$(cli orgs create Bench --slug bench --json | sed -n 's/.*"org_id": "\([^"]*\)".*/\1/p')"
# The rig passes the kid to its generator as an argument: one starting with "-" (a key's
# thumbprint, 1 in 64) would read as an option there, so such a key is made again.
for attempt in 1 2 3 4 5; do
  rm -rf "$data/keys"
  cli keys generate --out "$data/keys" >/dev/null 2>&1
  agent_json="$(cli agents register --org "$org" --name "bench-agent-$attempt" \
    --capability document.read --jwks "$data/keys/agent.jwks.json")"
  agent="$(sed -n 's/.*"agent_id": "\([^"]*\)".*/\1/p' <<<"$agent_json")"
  kid="$(sed -n 's/.*"key_ids": \["\([^"]*\)".*/\1/p' <<<"$agent_json")"
  [[ "$kid" == -* ]] || break
done
[[ -n "$org" && -n "$agent" && -n "$kid" ]] || { echo "bench_env.sh: set-up failed" >&2; exit 1; }

serve="cd $data && exec env ${settings[*]} $jitgate serve --port $port --workers $workers"
cat <<EOF
# jitgate bench slot: data in $data ($([[ -n "$redis" ]] && echo "Redis mode, $workers web process(es)" || echo "embedded mode"))
export JITGATE_BENCH_URL=$url
export JITGATE_BENCH_ORG=$org
export JITGATE_BENCH_AGENT_ID=$agent
export JITGATE_BENCH_AGENT_KID=$kid
export JITGATE_BENCH_AGENT_KEY=$data/keys/agent.pem
export JITGATE_BENCH_WORKERS=$workers
export JITGATE_BENCH_SERVE_CMD='$serve'
EOF
