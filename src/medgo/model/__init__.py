"""Tokenizers, model factory, LoRA."""
