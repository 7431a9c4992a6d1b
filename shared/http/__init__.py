"""The HTTP surface every service shares: the Flask app, admin routes, pages and their templates, problem+json errors, OpenAPI, request schemas, access log, rate limits, gunicorn config."""
