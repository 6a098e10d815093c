"""The helper package students import for the convolutional networks assignment.

Modules keep the names students of this course know: ``layers``, ``fast_layers``,
``layer_utils``, ``solver``, ``optim``, ``gradient_check`` and ``data``.
"""
