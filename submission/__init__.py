"""sub: build a Korean post-marketing surveillance submission package.

raw EDC extract -> SDTM -> ADaM -> define.xml -> MFDS re-examination report.
"""

__version__ = "0.1.0"
