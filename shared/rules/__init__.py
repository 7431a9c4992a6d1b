"""Plain-Python rules and vocabulary the services share (topics, event types, statuses, the status rule, disclosure); imports no framework."""
