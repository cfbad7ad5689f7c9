"""What each finding id means (data/findings.yaml): the text behind `advisor rules ID`."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from advisor import paths
from advisor.errors import KnowledgeError
from advisor.knowledge.yamlfile import format_validation_error, read_mapping


class FindingDoc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    means: str = Field(min_length=10)
    matters: str = Field(min_length=10)
    fix: str | None = None
    messages: list[str] = []  # keys of data/compat.yaml `messages:` (each with its source)
    texts: list[str] = []  # literal upstream texts, from `source`
    source: str | None = None

    @model_validator(mode="after")
    def _texts_are_sourced(self) -> FindingDoc:
        if self.texts and not (self.source and self.source.startswith("http")):
            raise ValueError("literal texts need the URL they come from (source:)")
        return self


class FindingDocs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: int
    findings: dict[str, FindingDoc]


def finding_docs_path() -> Path:
    return paths.data_dir() / "findings.yaml"


@cache
def load_finding_docs(path: Path | None = None) -> dict[str, FindingDoc]:
    source = path or finding_docs_path()
    try:
        return FindingDocs.model_validate(read_mapping(source)).findings
    except ValidationError as exc:
        raise KnowledgeError(format_validation_error(source, "findings", exc)) from None
