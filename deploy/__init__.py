"""Running the assistant on several processes: `python -m deploy.cluster` (`make cluster`) starts
nginx, Redis, PostgreSQL and replicas of the Rasa and action servers on this machine, as a
miniature of a deployment on several hosts; deploy/nginx/ holds the nginx configuration."""
