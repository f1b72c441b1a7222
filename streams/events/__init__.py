"""The event format: typed events, deterministic ids, the schema store and the Avro codec."""
