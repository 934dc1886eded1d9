"""The raw EDC extract: its layout (specs/raw), its loader and the synthetic-study generator."""
