"""What visitors say over the REST webhook, with words each reply must contain.

Shared by the end-to-end tests and the benchmark (bench/visitors.py), so both drive the
inquiry form the same way.
"""

from __future__ import annotations

# (message, words the reply must contain)
Turn = tuple[str, str]

# A complete inquiry with a wrong email and a question halfway, sent after a delivery question.
INQUIRY: list[Turn] = [
    ("can I study health IT online?", "Yes, Healthcare Information Technology can be completed online"),
    ("I'd like more info", "What's your full name?"),
    ("Dana O'Brien-Núñez", "What's your email address?"),
    ("dana.obrien@example", "doesn't look like a valid email address"),
    ("dana.obrien@example.com", "What's the best phone number"),
    ("how long is it?", "Healthcare Information Technology takes 18 months"),
    ("(706) 555-0199", "We talked about Healthcare Information Technology"),
    ("yes", "Where would you like to study Healthcare Information Technology?"),
    ("Online through our Chattanooga, TN campus", "How would you like admissions to contact you?"),
    ("email", "May the college's admissions office contact you by email"),
    ("yes", "Here's what I'll send to admissions"),
    ("yes", "Thank you! Your details are with the admissions office"),
]
