"""EVM chains (ethereum, bsc): native coin, internal transfers and ERC-20 tokens through web3."""
