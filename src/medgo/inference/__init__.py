"""The inference layer that evaluation and serving share: engines, the registry, model resolution."""
