// An upstream MCP server built with the official SDK's
// StreamableHTTPServerTransport, for tests/integration/test_mcp_http.c: its
// one tool, `check-headers`, answers with what an HTTP verifier would
// see: the Mandate-Token and Mandate-Proof headers of the POST that
// carried the call, and the token and proof in the call's _meta.  It
// listens on 127.0.0.1:PORT/mcp and says so on standard error.
import { createServer } from "node:http";
import { randomUUID } from "node:crypto";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";

const sessions = new Map();

function mcpServer() {
  const server = new McpServer({ name: "headers-upstream", version: "1.0" });
  server.registerTool("check-headers", {
    description: "Reports the presentation the call arrived with.",
    inputSchema: {},
  }, async (_args, extra) => {
    const h = extra.requestInfo?.headers || {};
    const meta = extra._meta || {};
    return { content: [{ type: "text", text: JSON.stringify({
      headerToken: h["mandate-token"] || null,
      headerProof: h["mandate-proof"] || null,
      metaToken: meta["io.mandate/token"] || null,
      metaProof: meta["io.mandate/proof"] || null,
    }) }] };
  });
  return server;
}

async function body(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : undefined;
}

const http = createServer(async (req, res) => {
  try {
    const sid = req.headers["mcp-session-id"];
    const parsed = req.method === "POST" ? await body(req) : undefined;
    let t = sid ? sessions.get(sid) : undefined;
    if (!t && !sid && parsed?.method === "initialize") {
      t = new StreamableHTTPServerTransport({ sessionIdGenerator: randomUUID,
        onsessioninitialized: (id) => sessions.set(id, t) });
      await mcpServer().connect(t);
    }
    if (!t) {
      res.writeHead(sid ? 404 : 400).end();
      return;
    }
    await t.handleRequest(req, res, parsed);
  } catch (e) {
    console.error(e);
    if (!res.headersSent) res.writeHead(500).end();
  }
});
http.listen(Number(process.env.PORT), "127.0.0.1", () =>
  console.error(`headers upstream listening on port ${process.env.PORT}`));
