"""One question's path through Slack: decided, read, answered, reported, audited."""
