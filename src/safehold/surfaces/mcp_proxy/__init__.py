"""The MCP proxy: an MCP server (stdio or streamable HTTP) relayed untouched, every tools/call
judged by the one decision path first."""
