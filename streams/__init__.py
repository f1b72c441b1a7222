"""crowdlog's streaming side: the event codec, stage cores, Kafka adapters and the CLI."""
