"""Errors a user can fix, each with a Chinese and an English message and the field at fault."""

from __future__ import annotations


class RegistryError(Exception):
    def __init__(self, zh: str, en: str, *, field: str = "") -> None:
        super().__init__(f"{zh} / {en}")
        self.zh = zh
        self.en = en
        self.field = field


class InvalidIdNumber(RegistryError):
    pass


class DuplicatePerson(RegistryError):
    pass


class UnknownRegion(RegistryError):
    pass


class OutOfJurisdiction(RegistryError):
    pass
