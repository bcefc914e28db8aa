"""Build the spaCy pipeline the NLU uses: blank English plus lookup lemmas.

No model can be downloaded here, so it is assembled from `spacy.blank("en")` and the
lemma tables that `spacy-lookups-data` ships, and saved where config.yml points.
"""

from __future__ import annotations

import sys
from pathlib import Path

import spacy


def build(target: Path) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()  # loads the lookup tables from spacy-lookups-data
    nlp.meta["name"] = "en_lookup"
    nlp.meta["description"] = "Blank English tokenizer with lookup lemmas (built locally)"
    target.parent.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(target)
    print(f"spaCy pipeline written to {target}: lemma of 'programs' = {nlp('programs')[0].lemma_}")


if __name__ == "__main__":
    build(Path(sys.argv[1] if len(sys.argv) > 1 else "models/spacy/en_lookup"))
