"""Figures and widgets specific to one lesson each."""
