"""Tests of shared/messaging."""
