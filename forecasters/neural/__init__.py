"""Global neural forecasters (PyTorch), one network per module; ``base`` does windowing, scaling and training."""
