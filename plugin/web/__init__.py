"""The web shell: the Flask app, its public pages and the admin pages."""
