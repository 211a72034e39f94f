// Module `DistillNN`: see DESIGN.md.
