"""Categories group products."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.domain.catalog import DESCRIPTION_MAX, NAME_MAX, Category

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX)]


class CategoryCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "Kitchen", "description": "Mugs and pans"}]},
    )

    name: Name
    description: Annotated[str, Field(max_length=DESCRIPTION_MAX)] = ""


class CategoryPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "6650f1c2a4b5c6d7e8f90123",
                    "name": "Kitchen",
                    "description": "Mugs and pans",
                    "version": 1,
                }
            ]
        }
    )

    id: str
    name: str
    description: str
    version: int

    @classmethod
    def of(cls, category: Category) -> CategoryPublic:
        return cls(
            id=category.id,
            name=category.name,
            description=category.description,
            version=category.version,
        )
