"""Every confluent-kafka client of crowdlog, made in one place with one error policy.

``clients`` builds consumers, log readers, producers and admin clients from ``Settings`` (the
connection, security settings included); ``errors`` is what every one of them does when the
cluster refuses it or a poll brings an error instead of a message. A client made anywhere else
would be a client without that policy: a refused password retried for ever, an error dropped.
"""
