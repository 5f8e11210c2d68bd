"""One MCP server for the whole fleet: the original bot's tool catalogue, routed to the right instance."""
