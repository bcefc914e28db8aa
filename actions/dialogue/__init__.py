"""From a tracker to context, and from facts to the responses the domain words."""
