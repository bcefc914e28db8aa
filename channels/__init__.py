"""Code the Rasa server loads from this project: the REST channel (credentials.yml), the
tracker store (endpoints.yml), and the entry point that starts it (`python -m channels.server`)
with fixes for Rasa's per-turn costs (channels/speedups.py). Importing this package patches
nothing.
"""
