"""Result rows, tolerances and the scorecard that compares them with the paper."""
