"""The staff insights report: what visitors ask, what went unanswered, where the form loses them.

`python -m actions.insights --since 2026-09-01 --out DIR` reads the conversation store and the
lead store through their configured URLs and writes DIR/index.html with PNG charts and a CSV of
every table. Small modules, one job each:
  settings.py     TIMEZONE, OFFICE_HOURS and the report's period, checked with a clear message
  source.py       conversations streamed from Rasa's `events` table, one at a time
  leads.py        which conversations left a lead, and whether it was delivered
  digest.py       one conversation's events -> its visitor messages and replies, redacted
  activity.py, asked.py, unanswered.py, funnel.py, feedback.py: one section each (pure)
  report.py       the sections filled from the conversations
  tables.py, charts.py, page.py, output.py: the report as tables, PNG charts, HTML, files
The action server imports every module under actions/: nothing here does work on import, and
matplotlib is imported only when charts are drawn.
"""
