"""Consensus research: the online Dawid-Skene model on closed class sets, and its evaluation.

``online`` learns the workers from the answers alone and settles the decisions at the end;
``drift`` is the time-local worker model it blends in; ``evaluate`` runs a method over a crowd
data set with gold labels (``python -m research.consensus.evaluate``); ``protocol`` chooses
how the model settles by leave-one-data-set-out over the public sets
(``benchmarks/crowd_accuracy.py``); ``subtypes`` is EBCC, a batch model of correlated errors
measured beside it as a reference.
The worker model and the posterior they build on are the live stage's
(``streams.consensus.confusion`` and ``streams.consensus.inference``).
"""
