"""HITs: asking the crowd for the handles a record lacks, and when to stop asking."""
