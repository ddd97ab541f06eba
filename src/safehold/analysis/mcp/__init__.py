"""MCP tool-call analysis: `analyzer.McpAnalyzer` (kind "mcp") and its tool catalog."""
