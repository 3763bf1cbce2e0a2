"""The TRON family: java-tron FullNode HTTP API (the API TronGrid serves) for TRX, TRC-20 and TRC-10."""
