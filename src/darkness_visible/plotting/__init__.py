"""Figures and rendered views shared by the chapters (HTML token heatmaps, ...)."""
