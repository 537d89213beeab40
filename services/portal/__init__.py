"""The portal: web pages for workers (and, later, the compliance desk); a backend-for-frontend."""
