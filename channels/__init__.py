"""Code the Rasa server loads from this project: the REST channel (credentials.yml), the
tracker store (endpoints.yml), and, on import, two fixes for Rasa's per-turn costs
(channels/speedups.py).
"""

from channels import speedups

speedups.install()
