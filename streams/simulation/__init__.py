"""Running the crowd pipeline against the simulated world: in process, or through Kafka."""
