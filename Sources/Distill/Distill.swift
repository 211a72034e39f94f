// Module `Distill`: see DESIGN.md.
