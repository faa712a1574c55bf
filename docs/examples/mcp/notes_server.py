"""An ordinary MCP server over stdio that knows nothing of jitgate (`jitgate mcp-proxy` fronts it)."""

from mcp.server.mcpserver import MCPServer

server = MCPServer("notes")
NOTES = {"welcome": "Hello from the notes server"}


@server.tool()
def read_note(name: str) -> str:
    """Read a note."""
    return NOTES.get(name, "no such note")


@server.tool()
def delete_note(name: str) -> str:
    """Delete a note (mapped to a jit permission, or left out of the map)."""
    return f"deleted {name}" if NOTES.pop(name, None) is not None else "no such note"


if __name__ == "__main__":
    server.run("stdio")
