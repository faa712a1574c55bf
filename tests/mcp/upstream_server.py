"""An ordinary MCP server written with the `mcp` package, knowing nothing of jitgate: what
`jitgate mcp-proxy` fronts in the tests. Each tool run appends a line to the RUNS file, so a
test can count what really ran.

    python upstream_server.py RUNS                # stdio
    python upstream_server.py RUNS http PORT      # streamable HTTP on 127.0.0.1:PORT/mcp
"""

import json
import sys

from mcp.server.mcpserver import MCPServer

server = MCPServer("payments-upstream")


def _ran(tool: str, arguments: dict) -> None:
    with open(sys.argv[1], "a") as f:
        f.write(json.dumps({"tool": tool, "arguments": arguments}) + "\n")


@server.tool()
def get_balance(account: str) -> str:
    """The balance of an account."""
    _ran("get_balance", {"account": account})
    return f"{account}: 100 EUR"


@server.tool()
def pay_invoice(invoice: str, amount: int) -> str:
    """Pay an invoice."""
    _ran("pay_invoice", {"invoice": invoice, "amount": amount})
    return f"paid {invoice}"


@server.tool()
def drop_tables() -> str:
    """Not in any tool map: must never run behind the proxy."""
    _ran("drop_tables", {})
    return "dropped"


if __name__ == "__main__":
    if sys.argv[2:3] == ["http"]:
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[3]))
    else:
        server.run("stdio")
