"""Visitors' contact details kept out of the conversation store (issue 9).

Pure functions over serialized Rasa events (no Rasa import), so the Rasa server's tracker
store (channels/tracker_store.py) and the tests use the same code.
"""
