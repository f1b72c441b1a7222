"""Predicting page views per post from an athlete's social profiles, learning online."""
