"""coinvoice.netfees: network-fee estimators per chain family, cached by the rate refresh job."""
