"""Data: readers, validation, cleaning, dedup, de-identification, builders."""
