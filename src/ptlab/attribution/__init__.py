"""Head attribution: Integrated Gradients on head gates and the scores it is compared with."""
