"""Input channels the Rasa server listens on (see credentials.yml)."""
