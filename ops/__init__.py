"""Operator tools on top of everything: the `outcomes` command line, `make run`'s supervisor, the demo, the embedded broker and SMTP sink; the only package that may import every service."""
