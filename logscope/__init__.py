"""logscope: see what your Postfix restrictions, blocklists and limits do."""
__version__ = "0.1.0"
