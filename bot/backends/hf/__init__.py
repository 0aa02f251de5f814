"""MedGemma in the bot's own process (transformers)."""
