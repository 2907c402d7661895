"""sharespec: an executable specification of memory sharing, and a conformance tester.

Importing this package is cheap on purpose (no z3, no networkx): the real-OS implementation
and the command line start from here.
"""
__version__ = "0.1.0"
