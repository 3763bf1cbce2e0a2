"""The TON family: toncenter HTTP API v2 per merchant wallet (getTransactions), text comments."""
