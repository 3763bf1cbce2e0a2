"""coinvoice.chains.utxo."""
