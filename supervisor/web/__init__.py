"""The fleet's one HTTP listener: the web console at /, Prometheus metrics at /metrics, MCP at /mcp."""
