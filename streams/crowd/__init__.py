"""The crowd platform: its seam (``platform``), Mechanical Turk behind it, and the bridge
service that moves HITs out to a platform and submissions back onto the log."""
