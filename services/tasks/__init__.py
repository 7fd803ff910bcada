"""The tasks subgraph: tasks of a collaboration request and their RACI matrix."""
