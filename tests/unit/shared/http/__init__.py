"""Tests of shared/http."""
