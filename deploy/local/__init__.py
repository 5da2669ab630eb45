"""The local AWS emulators that `make run` and the test session start (never imported at runtime)."""
