#!/usr/bin/env python3
"""Calls flowsage's MCP tools with the reference Python MCP client.

Connects over Streamable HTTP with a bearer token, or over stdio by starting
`flowsage mcp`, then runs a plan given as JSON and prints one JSON object on
stdout: the tool names the server lists, the result of the optional wait,
and each call's result. It only reports; the test asserts. Usage:
    mcp_client.py http URL TOKEN PLAN
    mcp_client.py stdio FLOWSAGE_BINARY CONFIG PLAN

PLAN is a JSON object:
    {"wait": {"sql": "...", "timeout_s": 60, "settle_s": 2},
     "calls": [{"tool": "query_sql", "arguments": {"sql": "..."}}, ...]}
"wait" (optional) runs `sql` through query_sql until its rows are non-empty,
not all zero, and unchanged for `settle_s` seconds, or until `timeout_s`
passes; it reports the last rows and whether they settled.
"""
import asyncio
import json
import os
import sys
import tempfile
import time

from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

import httpx2

POLL_INTERVAL_S = 0.25


def result_json(result):
    """A tool result as plain data: the error flag, its text and the text parsed as JSON."""
    text = "".join(getattr(part, "text", "") for part in result.content)
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    return {"is_error": bool(result.is_error), "text": text, "json": parsed}


def has_data(rows):
    return bool(rows) and any(value not in (0, "0", None) for row in rows for value in row)


async def wait_until_ingested(session, datagrams, deadline):
    """Polls the exporters tool until `datagrams` were received and every
    record decoded from them was written or counted as dropped, so a slow
    machine cannot make a still-running insert look like settled data."""
    while True:
        result = result_json(await session.call_tool("exporters", {}))
        stats = result["json"] or {}
        received = sum(e["datagrams"] for e in stats.get("exporters", []))
        records = sum(e["records"] for e in stats.get("exporters", []))
        writer = stats.get("store_writer", {})
        stored = writer.get("rows_written", 0) + writer.get("rows_dropped", 0)
        if received >= datagrams and stored >= records:
            return {"datagrams": received, "records": records, "stored": stored}
        if time.monotonic() >= deadline:
            return {"timed_out": True, "datagrams": received, "records": records, "stored": stored}
        await asyncio.sleep(POLL_INTERVAL_S)


async def wait_until_settled(session, wait):
    """Polls `wait["sql"]` until its rows stop changing; bounded by `timeout_s`.
    With `datagrams`, first waits until the server has received and written
    that many datagrams' records (see `wait_until_ingested`)."""
    timeout_s = float(wait.get("timeout_s", 60))
    settle_s = float(wait.get("settle_s", 2))
    deadline = time.monotonic() + timeout_s
    if "datagrams" in wait:
        ingested = await wait_until_ingested(session, int(wait["datagrams"]), deadline)
        if ingested.get("timed_out"):
            return {"settled": False, "polls": 0, "ingest": ingested}
    last_rows, changed_at, polls = None, time.monotonic(), 0
    while True:
        polls += 1
        result = result_json(await session.call_tool("query_sql", {"sql": wait["sql"]}))
        if result["is_error"] or result["json"] is None:
            return {"settled": False, "polls": polls, "error": result["text"]}
        rows = result["json"]["rows"]
        now = time.monotonic()
        if rows != last_rows:
            last_rows, changed_at = rows, now
        elif has_data(rows) and now - changed_at >= settle_s:
            return {"settled": True, "polls": polls, "rows": rows}
        if now >= deadline:
            return {"settled": False, "polls": polls, "rows": rows}
        await asyncio.sleep(POLL_INTERVAL_S)


async def run_plan(session, plan):
    await session.initialize()
    tools = await session.list_tools()
    report = {"tools": sorted(tool.name for tool in tools.tools)}
    if "wait" in plan:
        report["wait"] = await wait_until_settled(session, plan["wait"])
    report["results"] = []
    for call in plan.get("calls", []):
        result = await session.call_tool(call["tool"], call.get("arguments", {}))
        report["results"].append(result_json(result))
    return report


async def over_http(url, token, plan):
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60)
    async with http:
        async with streamable_http_client(url, http_client=http) as streams:
            async with ClientSession(streams[0], streams[1]) as session:
                return await run_plan(session, plan)


async def over_stdio(binary, config, plan):
    # An MCP client starts its server from the user's directory, not from
    # flowsage's: start it from an unrelated empty directory, as they do.
    with tempfile.TemporaryDirectory(prefix="mcp-client-cwd-") as elsewhere:
        server = StdioServerParameters(
            command=binary, args=["-c", config, "mcp"], env=dict(os.environ), cwd=elsewhere
        )
        async with stdio_client(server) as (read, write):
            async with ClientSession(read, write) as session:
                return await run_plan(session, plan)


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in ("http", "stdio"):
        sys.exit(__doc__)
    transport, first, second, plan = sys.argv[1:]
    plan = json.loads(plan)
    if transport == "http":
        report = asyncio.run(over_http(first, second, plan))
    else:
        report = asyncio.run(over_stdio(first, second, plan))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
