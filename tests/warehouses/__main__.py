"""`python -m tests.warehouses`: build the emulators' and loaders' venvs."""

from tests.warehouses import prepare

prepare()
