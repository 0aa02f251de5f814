"""The Web API edge: the client, downloads, the bot's post format and posting it once."""
