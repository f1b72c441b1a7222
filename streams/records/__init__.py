"""The records domain: provider rows in, validated ``RecordReceived`` events out."""
