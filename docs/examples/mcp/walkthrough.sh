#!/usr/bin/env bash
# docs/mcp.md end to end: protect your own MCP server, then proxy someone else's, with an agent
# calling both. Run it next to a running `jitgate serve` (same directory and JITGATE_* settings).
set -euo pipefail
EXAMPLES="$(cd "$(dirname "$0")" && pwd)"
export JITGATE_URL="${JITGATE_URL:-http://127.0.0.1:8000}"
MCP_PORT="${MCP_PORT:-9000}" PROXY_PORT="${PROXY_PORT:-9001}"
field() { python3 -c "import json, sys; print(json.load(sys.stdin)['$1'])"; }
wait_for() { for _ in $(seq 300); do curl -sf "$1" >/dev/null && return; sleep 0.2; done; exit 1; }

# --- set-up: an org, an agent with its key, an approver, a JIT policy ---------------------
ORG_JSON=$(jitgate orgs create "MCP demo" --json)
export JITGATE_ORG_ID=$(echo "$ORG_JSON" | field org_id)
export JITGATE_ADMIN_TOKEN=$(echo "$ORG_JSON" | field admin_token)
jitgate keys generate --out mcp-keys >/dev/null
export JITGATE_AGENT_ID=$(jitgate agents register --org "$JITGATE_ORG_ID" --name mcp-agent \
  --capability document.read --capability payments.authorize \
  --jwks mcp-keys/agent.jwks.json | field agent_id)
export JITGATE_AGENT_PRIVATE_KEY=mcp-keys/agent.pem
APPROVER_JSON=$(jitgate approvers add --org "$JITGATE_ORG_ID" --email boss@acme.example)
APPROVER_TOKEN=$(echo "$APPROVER_JSON" | field api_token)
jitgate policies set --org "$JITGATE_ORG_ID" payments.authorize --mode jit \
  --approver "$(echo "$APPROVER_JSON" | field approver_id)" >/dev/null

# --- way 1: protect an MCP server you write ----------------------------------------------
export MCP_RESOURCE_URI="http://127.0.0.1:$MCP_PORT/mcp"
jitgate resources add --org "$JITGATE_ORG_ID" --name Payments --uri "$MCP_RESOURCE_URI" \
  --tool get_balance=document.read --tool pay_invoice=payments.authorize >/dev/null
python3 "$EXAMPLES/payments_server.py" & SERVER=$!
trap 'kill $SERVER ${PROXY:-} 2>/dev/null || true' EXIT
wait_for "http://127.0.0.1:$MCP_PORT/.well-known/oauth-protected-resource"
python3 "$EXAMPLES/agent_client.py" "$MCP_RESOURCE_URI" get_balance '{"account": "ACC-1"}'

# A JIT tool: the call waits while a human decides (here: the approver's API; or the
# dashboard at /dashboard, Slack, email), then runs once.
python3 "$EXAMPLES/agent_client.py" "$MCP_RESOURCE_URI" pay_invoice \
  '{"invoice": "INV-1", "amount": 250}' & CALL=$!
API="$JITGATE_URL/orgs/$JITGATE_ORG_ID/api/v1"
for _ in $(seq 300); do
  REQUEST=$(curl -s "$API/audit?action=jit.request&limit=1" \
    -H "Authorization: Bearer $JITGATE_ADMIN_TOKEN" | python3 -c \
    'import json, sys; items = json.load(sys.stdin)["items"]; print(items[0]["target"] if items else "")')
  [ -n "$REQUEST" ] && break; sleep 0.2
done
curl -s -X POST "$API/jit/requests/$REQUEST/approve" -H "Authorization: Bearer $APPROVER_TOKEN" \
  -H 'Content-Type: application/json' -d '{"comment": "ok"}' >/dev/null
wait $CALL

# --- way 2: put someone else's MCP server behind jitgate, unchanged ----------------------
PROXY_URI="http://127.0.0.1:$PROXY_PORT/mcp"
jitgate resources add --org "$JITGATE_ORG_ID" --name Notes --uri "$PROXY_URI" \
  --tool read_note=document.read >/dev/null              # delete_note: unmapped, never runs
jitgate mcp-proxy --org "$JITGATE_ORG_ID" --resource "$PROXY_URI" --port "$PROXY_PORT" \
  --jitgate-url "$JITGATE_URL" --upstream-command "python3 $EXAMPLES/notes_server.py" & PROXY=$!
wait_for "http://127.0.0.1:$PROXY_PORT/.well-known/oauth-protected-resource"
python3 "$EXAMPLES/agent_client.py" "$PROXY_URI" read_note '{"name": "welcome"}'
python3 "$EXAMPLES/agent_client.py" "$PROXY_URI" delete_note '{"name": "welcome"}'

# Every call above, with its outcome, is in the audit trail.
curl -s "$API/audit?action=mcp.tool_call" -H "Authorization: Bearer $JITGATE_ADMIN_TOKEN" |
  python3 -c 'import json, sys
for e in reversed(json.load(sys.stdin)["items"]):
    print("audit:", e["details"]["tool"], e["outcome"])'
