# SpamAssassin's spamd from Debian's package, reachable only on the compose network.
FROM debian:bookworm
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends spamassassin spamd \
    && rm -rf /var/lib/apt/lists/* \
    && install -d -o debian-spamd -g debian-spamd /var/lib/spamassassin
CMD ["spamd", "--listen=0.0.0.0:783", "--allowed-ips=0.0.0.0/0", "--username=debian-spamd", \
     "--helper-home-dir=/var/lib/spamassassin", "--max-children=2", "--syslog=stderr", "--allow-tell"]
