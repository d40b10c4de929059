"""The live side of a session: the WebSocket route and the gateway into the session engine."""
