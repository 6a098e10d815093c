"""The autograder for the convolutional networks assignment."""

__version__ = "0.1.0"
