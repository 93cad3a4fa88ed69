"""`tts-ebm serve`: the interactive synthesis page (Flask app in `app`, job queue in `jobs`)."""
