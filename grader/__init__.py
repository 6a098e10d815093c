"""The autograder for the convolutional networks assignment: ``grader.pipeline.grade(path, config)``."""

__version__ = "0.1.0"
