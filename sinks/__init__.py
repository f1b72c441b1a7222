"""SQL materialisations of the crowdlog event log."""
