"""creative: turn a product page into ready-to-upload ad creatives."""

__version__ = "0.1.0"
