"""Enrichment: fetch each trusted handle's public profile from its platform, resiliently."""
