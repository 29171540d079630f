"""Training stages: pretrain, sft, preference."""
