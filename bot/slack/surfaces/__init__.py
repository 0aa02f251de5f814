"""What people do besides writing: feedback, the shortcut, the Home tab, private notes."""
