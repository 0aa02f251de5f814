"""The app built and served: listeners registered, Socket Mode or HTTP, the manifest."""
