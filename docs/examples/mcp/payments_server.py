"""An MCP server protected by jitgate: tokens, per-tool rules, JIT approval, audit.

Run:  python payments_server.py   (reads JITGATE_URL, JITGATE_ORG_ID, JITGATE_ADMIN_TOKEN,
      MCP_RESOURCE_URI, e.g. http://127.0.0.1:9000/mcp, and serves there)
"""

import os
from urllib.parse import urlsplit

import uvicorn
from mcp.server.mcpserver import MCPServer

from jitgate.mcp import McpGate

resource_uri = os.environ["MCP_RESOURCE_URI"]
gate = McpGate(
    jitgate_url=os.environ["JITGATE_URL"],
    org_id=os.environ["JITGATE_ORG_ID"],
    resource_uri=resource_uri,
    admin_token=os.environ["JITGATE_ADMIN_TOKEN"],  # reads the tool map, writes the audit
)
server = MCPServer(
    "payments", auth=gate.auth_settings(), token_verifier=gate.verifier, middleware=[gate]
)
gate.install_metadata(server)


@server.tool()
def get_balance(account: str) -> str:
    """The balance of an account."""
    return f"{account}: 100 EUR"


@server.tool()
def pay_invoice(invoice: str, amount: int) -> str:
    """Pay an invoice (mapped to a jit permission: a human approves each call)."""
    return f"paid {invoice}: {amount} EUR"


if __name__ == "__main__":
    address = urlsplit(resource_uri)
    uvicorn.run(server.streamable_http_app(), host=address.hostname, port=address.port)
