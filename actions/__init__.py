"""Custom actions for the admissions assistant.

Layout, one concern per sub-package:
  knowledge/  program facts: schema, loading + validation, queries
  language/   spaCy recognisers built from the knowledge base
  dialogue/   turning a tracker into context and facts into utterances
  answers.py  the Rasa actions that answer knowledge questions
"""
