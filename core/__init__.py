"""Ground floor: helpers every other package may use; nothing here imports from the project."""
