"""The ``paint`` commands that use or make a model without training, and the console they share."""
