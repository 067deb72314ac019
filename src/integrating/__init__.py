"""The Integrating compendium: one module per concept of the study (README.md, "Layout")."""
