"""Tests of shared/rules."""
