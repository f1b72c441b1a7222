"""Consensus: turning several crowd answers per task into one trusted label."""
