FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends litecoind && rm -rf /var/lib/apt/lists/*
COPY docker/litecoin.conf /data/litecoin.conf
CMD ["/usr/lib/litecoin/litecoind", "-datadir=/data", "-printtoconsole"]
