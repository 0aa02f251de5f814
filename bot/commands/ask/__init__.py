"""`medgemma-bot ask`: local files and a question, through the same pipeline as Slack."""
