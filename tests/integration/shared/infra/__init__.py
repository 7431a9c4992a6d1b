"""Tests of shared/infra."""
