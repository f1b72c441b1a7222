"""Lineage: redaction requests, the retractions they propagate to, and the graph behind them."""
