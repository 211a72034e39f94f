// Module `DistillData`: see DESIGN.md.
