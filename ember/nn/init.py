"""Initialisers."""
