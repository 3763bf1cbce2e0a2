"""coinvoice.netfees: network-fee estimator adapters per chain family (the protocol is rates.estimators)."""
