"""An agent calling a jitgate-protected MCP server: its token is found by discovery.

Run:  python agent_client.py MCP_URL TOOL '{"arg": "value"}'
      (reads JITGATE_URL, JITGATE_ORG_ID, JITGATE_AGENT_ID, JITGATE_AGENT_PRIVATE_KEY)
"""

import asyncio
import json
import sys

import httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from jitgate import AgentAuth
from jitgate.mcp import JitgateMcpAuth


async def main(url: str, tool: str, arguments: dict) -> None:
    auth = JitgateMcpAuth(AgentAuth.from_env())  # 401 -> metadata -> jitgate token (resource=)
    timeout = httpx2.Timeout(30, read=300)  # a JIT tool waits for its approval
    async with (
        httpx2.AsyncClient(auth=auth, timeout=timeout) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        print("tools:", sorted(t.name for t in (await session.list_tools()).tools))
        result = await session.call_tool(tool, arguments)
        text = " ".join(getattr(c, "text", "") for c in result.content)
        print("error:" if result.is_error else "result:", text)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3])))
