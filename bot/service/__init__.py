"""Running the bot as a service: health probes and Prometheus metrics."""
