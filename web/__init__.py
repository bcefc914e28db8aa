"""The website side: the chat widget, the demo page that shows it, and their server."""
