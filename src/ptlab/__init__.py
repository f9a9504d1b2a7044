"""ptlab: small language-model architectures, PT <-> Transformer, as a reproducible book."""

__version__ = "0.1.0"
