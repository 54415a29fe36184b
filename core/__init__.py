"""Ground floor: helpers every other package may use; nothing here imports from the project."""

MIB = 2**20  # every "MB" this project reports is a mebibyte
