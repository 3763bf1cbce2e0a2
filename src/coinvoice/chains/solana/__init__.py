"""The Solana family: JSON-RPC per merchant address (getSignaturesForAddress, getTransaction), Solana Pay references."""
