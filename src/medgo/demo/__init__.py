"""Synthetic demo data generator for medgo (self-written knowledge base + templates)."""
