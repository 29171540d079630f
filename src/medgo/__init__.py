"""medgo: build, evaluate and serve a Chinese medical LLM (MedGo recipe) from one config."""

__version__ = "0.1.0"
