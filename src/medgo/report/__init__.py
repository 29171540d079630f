"""Run reports: Markdown + HTML with plots."""
