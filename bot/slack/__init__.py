"""The Slack front: app wiring, event routing, files, thread history, replies."""
