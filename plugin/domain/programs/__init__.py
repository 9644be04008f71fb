"""Mentorship program templates: the weekly steps a pair works through."""
