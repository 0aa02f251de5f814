"""The commands besides `run`: ask, bench, doctor, eval (each in its folder)."""
