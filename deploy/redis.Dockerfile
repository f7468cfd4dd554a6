# Redis from Debian's package, for IDLE wake-ups across the mail containers. Nothing is
# persisted: it carries notices, not data.
FROM debian:bookworm
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/*
USER redis
CMD ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--save", "", "--appendonly", "no"]
