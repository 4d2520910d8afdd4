"""The ordered, explainable rules that turn a report into a decision."""
